"""After a process's first response, what it keeps for life is moved out of the garbage collector's reach.

A full collection walks every tracked object: in a warm app process (Django, botocore's service model, the
URL patterns, compiled templates) that takes tens of ms (BENCHMARKS.md), paid now and then by whichever
request is running (issue 15: it lands in the p99). Frozen after the first response (gc.freeze()), a full
collection walks only what came after.
"""
import json
import subprocess
import sys

import pytest

from tests.integration.servers import ROOT

pytestmark = [
    pytest.mark.integration,  # a fresh interpreter, as gunicorn's worker or Lambda starts one
    pytest.mark.backend("moto", reason="a fresh interpreter serving the contact form, which reads no DynamoDB"),
]

SERVE_TWICE = """
import gc, json
from wsgiref.util import setup_testing_defaults

freezes, freeze = [], gc.freeze
gc.freeze = lambda: (freezes.append(1), freeze())
from leadsite.wsgi import application

def serve():
    environ, status = {"PATH_INFO": "/", "HTTP_X_FORWARDED_PROTO": "https"}, []
    setup_testing_defaults(environ)
    body = application(environ, lambda line, headers, exc_info=None: status.append(line))
    b"".join(body)
    body.close()
    return status[0]

frozen_at_start = gc.get_freeze_count()
first = serve()
frozen_after_first = gc.get_freeze_count()
second = serve()
print(json.dumps([frozen_at_start, first, frozen_after_first, second, len(freezes)]))
"""


def test_the_heap_is_frozen_once_after_the_first_response(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "leadsite.settings",
           "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "127.0.0.1", "DYNAMODB_ENDPOINT": "http://127.0.0.1:9",
           "STATIC_ROOT": str(tmp_path)}
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert collect.returncode == 0, collect.stderr[-2000:]
    result = subprocess.run([sys.executable, "-c", SERVE_TWICE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    at_start, first, after_first, second, freezes = json.loads(result.stdout.splitlines()[-1])
    assert (at_start, first, second) == (0, "200 OK", "200 OK")
    assert after_first > 10_000, "everything alive after the first response is frozen"
    assert freezes == 1, "frozen once a process, not on every request"
