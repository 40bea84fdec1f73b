"""Settings of the baseline project: plain Django, no apps, no database, the usual security middleware.

The tables are the app's own (same DynamoDB Local, same prefix): BENCH_DYNAMODB_URL, BENCH_TABLE_PREFIX.
"""
import os
from pathlib import Path

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-baseline-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [f"django.middleware.{m}" for m in ("security.SecurityMiddleware", "common.CommonMiddleware",
                                                 "csrf.CsrfViewMiddleware", "clickjacking.XFrameOptionsMiddleware")]
ROOT_URLCONF = "bench.baseline.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "DIRS": [Path(__file__).resolve().parent / "templates"], "APP_DIRS": False, "OPTIONS": {}}]
DATABASES: dict = {}
USE_I18N, USE_TZ, TIME_ZONE = False, True, "UTC"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
LOGGING = {"version": 1, "disable_existing_loggers": False}
