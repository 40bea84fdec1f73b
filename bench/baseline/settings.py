"""Settings of the baseline project: plain Django, no apps, no database, the usual security middleware.

The tables are the app's own (same DynamoDB Local, same prefix): BENCH_DYNAMODB_URL, BENCH_TABLE_PREFIX.
"""
import os
from pathlib import Path

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-baseline-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# bench.baseline.urls_plain serves the ceiling alone: a cold start that never imports PynamoDB.
ROOT_URLCONF = os.environ.get("BENCH_URLCONF", "bench.baseline.urls")
WSGI_APPLICATION = "bench.baseline.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [Path(__file__).resolve().parent / "templates"],
    "APP_DIRS": False,
    "OPTIONS": {},
}]
DATABASES: dict = {}
USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
LOGGING = {"version": 1, "disable_existing_loggers": False}
