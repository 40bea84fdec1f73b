"""The app's WSGI application with the proposed fixes of bench/experiments.py applied (BENCH_APP_PATCHES)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings")

application = get_wsgi_application()

from bench import experiments  # noqa: E402 — after Django is set up, before the first request

experiments.apply(os.environ.get("BENCH_APP_PATCHES", "").split(","))
