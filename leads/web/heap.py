"""Moves what a process keeps for life out of the garbage collector's reach, once, after its first response."""

import gc
import threading

# Once a process (not once a middleware instance: every test client builds its own chain).
_frozen = threading.Event()


class FreezeHeapAfterFirstResponseMiddleware:
    """After the first response, gc.freeze(): full collections then skip the warm process's heap.

    A full collection walks every tracked object; in a warm process (Django, botocore's service model, the URL
    patterns, compiled templates, all made by the first request) that takes tens of ms (BENCHMARKS.md, "Where
    the time goes"), paid now and then by whichever request is running, a pause in the p99. Only
    after the first response, so the lazily built parts are frozen too: gunicorn workers and Lambda alike
    build them on their first request. Only once: frozen objects are never collected, so freezing on every
    request would keep every cycle that happened to be alive at the time.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not _frozen.is_set():
            _frozen.set()
            gc.freeze()
        return response
