"""Where a request's CPU goes: exclusive CPU time by layer, measured by timing the layers' entry points.

Written by hand: cProfile charges each function call a fixed overhead (it roughly doubles a template's
time), and no profiler groups time by the app's own layers. Here each layer's entry point is wrapped; CPU
time (time.process_time) between two events goes to the innermost layer open, so each millisecond is
counted once. What no wrapped layer claims (Django's handler and every middleware) is "middleware"; the
garbage collector's runs (gc.callbacks) are a layer of their own, wherever they fall due.
"""
import functools
import gc
import importlib
import inspect
import time

LAYERS = ("middleware", "session", "view", "selectors", "PynamoDB and botocore", "template", "logging",
          "garbage collection")

# Entry points: (module, attribute path, layer). Sides wrap what they have; a missing one is skipped.
ENTRY_POINTS = [
    ("django.core.handlers.base", "BaseHandler._get_response", "view"),  # resolve, process_view, the view itself
    ("leads.accounts.sessions", "SessionStore.load", "session"),
    ("leads.accounts.sessions", "SessionStore.save", "session"),
    ("leads.web.middleware", "CurrentStaffMiddleware.__call__", "session"),
    ("leads.domain.selectors", "*", "selectors"),
    ("leads.domain.services", "*", "selectors"),
    ("pynamodb.connection.base", "Connection.dispatch", "PynamoDB and botocore"),
    ("pynamodb.pagination", "ResultIterator.__next__", "PynamoDB and botocore"),  # deserialising query results
    ("pynamodb.models", "Model.from_raw_data", "PynamoDB and botocore"),
    ("django.template.backends.django", "Template.render", "template"),
    ("logging", "Logger.handle", "logging"),
]


class LayerClock:
    """Exclusive CPU seconds by layer: a stack of open layers, charged at every entry and exit."""

    def __init__(self):
        self.seconds = dict.fromkeys(LAYERS, 0.0)
        self.stack, self.mark = ["middleware"], time.process_time()

    def _charge(self) -> None:
        now = time.process_time()
        self.seconds[self.stack[-1]] += now - self.mark
        self.mark = now

    def wrap(self, function, layer: str):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            self._charge()
            self.stack.append(layer)
            try:
                return function(*args, **kwargs)
            finally:
                self._charge()
                self.stack.pop()
        return timed

    def install(self) -> None:
        """Wrap every entry point this process has."""
        for module_name, path, layer in ENTRY_POINTS:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            if path == "*":  # every public function the module defines
                targets = [(module, name) for name, value in vars(module).items()
                           if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == module_name
                           and not isinstance(value, type)]
            else:
                owner_name, _, attribute = path.rpartition(".")
                targets = [(getattr(module, owner_name) if owner_name else module, attribute)]
            for owner, attribute in targets:
                found = inspect.getattr_static(owner, attribute)
                if isinstance(found, classmethod):  # wrap the function, so subclasses still get their own cls
                    setattr(owner, attribute, classmethod(self.wrap(found.__func__, layer)))
                else:
                    setattr(owner, attribute, self.wrap(getattr(owner, attribute), layer))

    def _collecting(self, phase: str, _info: dict) -> None:
        """gc.callbacks: a collection is its own layer, not the layer whose allocation happened to set it off."""
        self._charge()
        if phase == "start":
            self.stack.append("garbage collection")
        else:
            self.stack.pop()

    def measure(self, request, count: int) -> dict:
        """Exclusive CPU ms a request, by layer, over count requests."""
        self.seconds = dict.fromkeys(LAYERS, 0.0)
        self.mark = time.process_time()
        gc.callbacks.append(self._collecting)
        try:
            for _ in range(count):
                request()
        finally:
            gc.callbacks.remove(self._collecting)
        self._charge()
        return {layer: seconds * 1000 / count for layer, seconds in self.seconds.items()}
