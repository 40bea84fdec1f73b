"""Settings for the test suite: production-like (DEBUG off), AWS endpoint mocked by moto."""
import os

os.environ.update(
    {
        "DEBUG": "0",
        "SECRET_KEY": "tests-only-not-a-secret",
        "DYNAMODB_ENDPOINT": "aws",
        "DYNAMODB_TABLE_PREFIX": "test-",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "LEADS_NOTIFY_EMAILS": "sales@example.com",
        "LEADS_CORS_ORIGINS": "https://static.example.com",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_FORMAT": "text",
    }
)
os.environ.pop("LEADS_RATELIMIT_DISABLED", None)

from leadsite.settings import *  # noqa: E402,F403

# Retries back off for real; keep fault tests quick without changing the retry mode.
DYNAMODB_MAX_RETRIES = 1
DYNAMODB_TRANSACTION_ATTEMPTS = 3  # the fault matrix counts calls; production's 8 is exercised by the load test

# Real hashing is slow by design; tests check behaviour, not key stretching.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests render templates without running collectstatic first; the production manifest storage is
# exercised by the gunicorn integration test, which collects static files for real.
STORAGES = {"staticfiles": {"BACKEND": "leads.web.staticfiles.ScriptPrefixedStaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
LOGGING["loggers"]["leads.request"] = {"level": "WARNING"}  # noqa: F405 — one line per test request is noise here
