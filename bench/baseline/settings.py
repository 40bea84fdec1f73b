"""The baseline project's settings: plain Django, no apps, no database, the usual security middleware."""
import os
from pathlib import Path

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-baseline-not-a-secret")
DEBUG, ALLOWED_HOSTS, INSTALLED_APPS, DATABASES = False, ["127.0.0.1", "localhost", "testserver"], [], {}
MIDDLEWARE = [f"django.middleware.{m}" for m in ("security.SecurityMiddleware", "common.CommonMiddleware",
                                                 "csrf.CsrfViewMiddleware", "clickjacking.XFrameOptionsMiddleware")]
ROOT_URLCONF = "bench.baseline.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "DIRS": [Path(__file__).resolve().parent / "templates"], "APP_DIRS": False, "OPTIONS": {}}]
USE_I18N, USE_TZ, TIME_ZONE = False, True, "UTC"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
LOGGING = {"version": 1, "disable_existing_loggers": False}
