"""Django settings for Leads, read from the environment (and `.env`) through django-environ."""

import base64
import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from leadsite.log_format import JSON_FORMATTER

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    """Return SECRET_KEY; in DEBUG, a per-checkout key kept under var/ so none lives in the repo."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    from django.core.management.utils import get_random_secret_key

    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.is_file():
        # Owner-only: whoever reads this key can forge sessions and signed links.
        VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(VAR_DIR, 0o700)
        try:
            with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
                file.write(get_random_secret_key())
        except FileExistsError:
            pass  # another process (the embedded store, a second server) made it first
    elif key_file.stat().st_mode & 0o077:
        key_file.chmod(0o600)  # a key left readable by an older version
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

INSTALLED_APPS = [
    "corsheaders",
    "csp",
    "django.contrib.staticfiles",
    "django.contrib.messages",
    "leads",
]

MIDDLEWARE = [
    "leads.web.heap.FreezeHeapAfterFirstResponseMiddleware",
    "leads.web.request_log.RequestLogMiddleware",
    "leads.web.middleware.HealthCheckMiddleware",
    "leads.web.middleware.StaffNoStoreMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "leads.web.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "leads.web.middleware.CurrentStaffMiddleware",
    "leads.web.middleware.StaffTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "leads.web.middleware.StorageUnavailableMiddleware",
]

ROOT_URLCONF = "leadsite.urls"
WSGI_APPLICATION = "leadsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["leads.backoffice.templatetags.leads_extras"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "leads.web.context_processors.branding",
            ],
        },
    },
]

# No relational database: every piece of state lives in DynamoDB.
DATABASES = {}
# Django ships its widget templates for both engines, the same markup; Jinja2 compiles them to Python, so a
# form page's widgets cost less CPU (BENCHMARKS.md, "Where the time goes"). Pages stay Django templates.
FORM_RENDERER = "django.forms.renderers.Jinja2"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

# Public pages speak the visitor's language (Accept-Language), staff pages English unless a staff member
# chose another (leads.web.middleware.LanguageMiddleware). locale/ holds the project's translations; their
# .mo files are compiled by the build (`make messages-compiled`, the Dockerfile, `manage.py deploy`).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Absolute, so Django never prefixes it once and caches that (leads/web/staticfiles.py): the storage
# adds each request's script prefix (an API Gateway stage), and whitenoise matches PATH_INFO on it.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

# A 500 KB message must reach the form (and its length error); anything far bigger is refused early.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# A bulk action on a full 100-row page posts ~105 fields; this leaves room and still caps abuse.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 300

# --- DynamoDB -------------------------------------------------------------------------------
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
DYNAMODB_TABLE_PREFIX = env.str("DYNAMODB_TABLE_PREFIX", default="leads-")
DYNAMODB_EMBEDDED_PORT = env.int("DYNAMODB_EMBEDDED_PORT", default=8765)
DYNAMODB_EMBEDDED_DIR = Path(env.str("DYNAMODB_EMBEDDED_DIR", default=str(VAR_DIR / "dynamodb")))
DYNAMODB_CONNECT_TIMEOUT = env.float("DYNAMODB_CONNECT_TIMEOUT", default=2.0)
DYNAMODB_READ_TIMEOUT = env.float("DYNAMODB_READ_TIMEOUT", default=5.0)
# botocore retry mode ("standard", or "adaptive" to also rate-limit the client when throttled) with
# exponential backoff; this many retries after the first try.
DYNAMODB_RETRY_MODE = env.str("DYNAMODB_RETRY_MODE", default="standard")
DYNAMODB_MAX_RETRIES = env.int("DYNAMODB_MAX_RETRIES", default=3)
# Attempts at a transaction cancelled for a retryable reason (TransactionConflict, throttling of one
# item), which botocore never retries itself. Conflicts clear in tens of ms and each attempt lands on
# fresh tally shards, so several quick attempts beat a 503 (leads.storage.dynamodb.commit).
DYNAMODB_TRANSACTION_ATTEMPTS = env.int("DYNAMODB_TRANSACTION_ATTEMPTS", default=8)


def _dynamodb_host(endpoint: str) -> str | None:
    """Resolve DYNAMODB_ENDPOINT to a URL, or None for AWS's own endpoint for AWS_REGION."""
    if endpoint in ("", "embedded"):
        if not endpoint and not DEBUG:
            raise ImproperlyConfigured(
                "DYNAMODB_ENDPOINT is not set. With DEBUG off, set it to 'aws', to a URL, "
                "or ask for the embedded store explicitly with 'embedded'."
            )
        return f"http://127.0.0.1:{DYNAMODB_EMBEDDED_PORT}"
    if endpoint == "aws":
        return None
    if endpoint.startswith(("http://", "https://")):
        return endpoint
    raise ImproperlyConfigured(f"DYNAMODB_ENDPOINT must be 'embedded', 'aws' or a URL, not {endpoint!r}.")


DYNAMODB_ENDPOINT = env.str("DYNAMODB_ENDPOINT", default="").strip()
DYNAMODB_HOST = _dynamodb_host(DYNAMODB_ENDPOINT)
DYNAMODB_EMBEDDED = DYNAMODB_ENDPOINT in ("", "embedded")

# --- Leads ----------------------------------------------------------------------------------
LEADS_NOTIFY_EMAILS = env.list("LEADS_NOTIFY_EMAILS", default=[])
# "request": email right after the lead commits (container, laptop); "stream": the DynamoDB Stream
# handler sends it (Lambda), so a slow mail server never delays the visitor.
LEADS_NOTIFY_VIA = env.str("LEADS_NOTIFY_VIA", default="request")
if LEADS_NOTIFY_VIA not in ("request", "stream"):
    raise ImproperlyConfigured("LEADS_NOTIFY_VIA must be 'request' or 'stream'.")
# Each tally (leads per status, per day) is spread over this many items so that no item is on every
# write's path (leads.domain.tallies). Grow it, never shrink it; 3 × it must fit one BatchGetItem (100 keys).
LEADS_TALLY_SHARDS = env.int("LEADS_TALLY_SHARDS", default=32)
if not 1 <= LEADS_TALLY_SHARDS <= 33:
    raise ImproperlyConfigured("LEADS_TALLY_SHARDS must be between 1 and 33.")
LEADS_RATELIMIT_DISABLED = env.bool("LEADS_RATELIMIT_DISABLED", default=False)
LEADS_RATELIMIT_COUNT = env.int("LEADS_RATELIMIT_COUNT", default=5)
LEADS_RATELIMIT_WINDOW = env.int("LEADS_RATELIMIT_WINDOW", default=600)
# How many proxies (load balancer, CDN) stand in front of the app and append to X-Forwarded-For:
# 0 on Lambda and on a laptop (REMOTE_ADDR is the client), 1 behind an AWS load balancer.
LEADS_TRUSTED_PROXY_COUNT = env.int("LEADS_TRUSTED_PROXY_COUNT", default=0)
# How long a rendered contact form stays valid (its one-time token is signed with a timestamp).
LEADS_FORM_MAX_AGE = env.int("LEADS_FORM_MAX_AGE", default=2 * 24 * 3600)
# A reply emailed from the lead page moves a "new" lead to "contacted" (leads.domain.replies).
LEADS_REPLY_MARKS_CONTACTED = env.bool("LEADS_REPLY_MARKS_CONTACTED", default=True)
# Retention: a lead and everything derived from it (history, trash copy, markers) expires this many days
# after its last activity, removed by DynamoDB's TTL (leads.domain.retention). 0 (the default) = kept forever.
LEADS_RETENTION_DAYS = env.int("LEADS_RETENTION_DAYS", default=0)
if LEADS_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("LEADS_RETENTION_DAYS must be 0 (off) or a number of days.")

# --- Webhooks (leads.domain.webhooks; README "Webhooks") -------------------------------------
# A new lead and every status change are POSTed to each entry of LEADS_WEBHOOKS, a comma-separated
# list of "kind|name|url" (kind "slack": Slack-compatible {"text": …}) or "kind|name|url|SECRET_ENV"
# (kind "json": JSON signed with HMAC-SHA256, the secret read from the environment variable named —
# never written here or in the repository). The name is what logs and the admin page show: never the
# URL, since a Slack URL is itself a credential. URLs come only from here, never from user input.
WEBHOOK_KINDS = ("slack", "json")
_WEBHOOK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _webhooks(entries: list[str]) -> list[dict]:
    """Parse LEADS_WEBHOOKS into [{kind, name, url, secret}]; refuse anything unclear at start-up."""
    hooks = []
    for entry in entries:
        parts = [part.strip() for part in entry.split("|")]
        if len(parts) not in (3, 4) or parts[0] not in WEBHOOK_KINDS:
            raise ImproperlyConfigured("Each LEADS_WEBHOOKS entry is 'slack|name|url' or 'json|name|url|SECRET_ENV_NAME'.")
        kind, name, url = parts[:3]
        if not _WEBHOOK_NAME.fullmatch(name) or name in {hook["name"] for hook in hooks}:
            raise ImproperlyConfigured(f"LEADS_WEBHOOKS: {name!r} must be a unique name of a-z, 0-9, '-', '_' (≤ 40).")
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname or any(c.isspace() for c in url):
            raise ImproperlyConfigured(f"LEADS_WEBHOOKS: the URL of {name!r} must be an http(s) URL.")
        secret = None
        if kind == "json":
            if len(parts) != 4 or not parts[3]:
                raise ImproperlyConfigured(f"LEADS_WEBHOOKS: {name!r} (json) needs the name of its secret's variable.")
            secret = env.str(parts[3], default="")
            if len(secret) < 16:
                raise ImproperlyConfigured(f"LEADS_WEBHOOKS: {parts[3]} (the secret of {name!r}) must hold 16+ characters.")
        elif len(parts) == 4:
            raise ImproperlyConfigured(f"LEADS_WEBHOOKS: {name!r} (slack) takes no secret: its URL is the secret.")
        hooks.append({"kind": kind, "name": name, "url": url, "secret": secret})
    return hooks


LEADS_WEBHOOKS = _webhooks(env.list("LEADS_WEBHOOKS", default=[]))
# The staff page of a lead, for the link a webhook carries ("{lead_id}" is replaced); empty = no link.
# Out of a request (the stream handler) the app does not know its own address, so it is configured.
LEADS_WEBHOOK_LEAD_URL = env.str("LEADS_WEBHOOK_LEAD_URL", default="").strip()
if LEADS_WEBHOOK_LEAD_URL and (not LEADS_WEBHOOK_LEAD_URL.startswith(("http://", "https://"))
                               or "{lead_id}" not in LEADS_WEBHOOK_LEAD_URL):
    raise ImproperlyConfigured("LEADS_WEBHOOK_LEAD_URL must be an http(s) URL holding {lead_id}.")
# Seconds one POST may take; and, with LEADS_NOTIFY_VIA=request, all webhooks of one request together
# (retries included), so a dead receiver never holds a visitor's or a staff member's page for long.
LEADS_WEBHOOK_TIMEOUT = env.float("LEADS_WEBHOOK_TIMEOUT", default=3.0)
LEADS_WEBHOOK_REQUEST_BUDGET = env.float("LEADS_WEBHOOK_REQUEST_BUDGET", default=5.0)
if not (0 < LEADS_WEBHOOK_TIMEOUT <= 30 and 0 < LEADS_WEBHOOK_REQUEST_BUDGET <= 60):
    raise ImproperlyConfigured("LEADS_WEBHOOK_TIMEOUT must be in (0, 30] s, LEADS_WEBHOOK_REQUEST_BUDGET in (0, 60] s.")


def _web_url(value: str, setting: str) -> str:
    """A setting's link: empty, an http(s) URL or a path on this site — never `javascript:` or the like."""
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    web = parts.scheme in ("http", "https") and parts.netloc
    path = not parts.scheme and not parts.netloc and value.startswith("/")
    # Browsers read a backslash as "/": "/\evil.example" would lead to another site.
    if not (web or path) or "\\" in value or not value.isprintable() or any(char.isspace() for char in value):
        raise ImproperlyConfigured(f"{setting} must be an http(s):// URL or a path starting with /.")
    return value


# The contact form's privacy notice and consent checkbox. The checkbox shows when a privacy URL is set
# or consent is required; a lead stores the text and version agreed to, and when.
# Where staff open the app (scheme, host and any path prefix, e.g. https://leads.example.com): the daily
# follow-up digest (manage.py send_digests) links to lead pages under it.
LEADS_SITE_URL = _web_url(env.str("LEADS_SITE_URL", default=""), "LEADS_SITE_URL").rstrip("/")

LEADS_PRIVACY_URL = _web_url(env.str("LEADS_PRIVACY_URL", default=""), "LEADS_PRIVACY_URL")
LEADS_CONSENT_REQUIRED = env.bool("LEADS_CONSENT_REQUIRED", default=False)
# The default text is shown in the visitor's language (leads.public.forms); a text of your own, as written.
LEADS_CONSENT_TEXT = env.str("LEADS_CONSENT_TEXT", default="")
LEADS_CONSENT_VERSION = env.str("LEADS_CONSENT_VERSION", default="1")
if not LEADS_CONSENT_VERSION.strip():
    raise ImproperlyConfigured("LEADS_CONSENT_VERSION must not be empty.")


def _luminance(colour: str) -> float:
    """WCAG 2's relative luminance of a #rrggbb colour."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _accent_colour(value: str) -> str:
    """LEADS_ACCENT_COLOUR: empty or #rrggbb dark enough (WCAG AA, 4.5:1) for white text on it and as link
    text on the page's lightest grey (site.css's --wash, #f5f7fa)."""
    value = value.strip().lower()
    if not value:
        return ""
    if not re.fullmatch(r"#[0-9a-f]{6}", value):
        raise ImproperlyConfigured("LEADS_ACCENT_COLOUR must be a colour written #rrggbb, such as #2457c5.")
    if (_luminance("#f5f7fa") + 0.05) / (_luminance(value) + 0.05) < 4.5:
        raise ImproperlyConfigured(f"LEADS_ACCENT_COLOUR {value} is too light: buttons show white text on it and "
                                   f"links are written in it, which needs a contrast of at least 4.5:1. "
                                   f"Choose a darker colour.")
    return value


def _accent_style(colour: str) -> str:
    """The rule that sets the accent (and its darker hover shade) over site.css's own."""
    if not colour:
        return ""
    dark = "#" + "".join(f"{int(int(colour[i:i + 2], 16) * 0.75):02x}" for i in (1, 3, 5))
    return f":root{{--brand:{colour};--brand-dark:{dark}}}"


# Branding of the public pages (README, "Make it yours"): the name in the header and titles (empty = the
# host the visitor asked for), a logo shown instead of the name, the accent colour of links and buttons,
# and the texts above the form and on the thank-you page (empty = the default, in the visitor's language).
LEADS_SITE_NAME = env.str("LEADS_SITE_NAME", default="").strip()
LEADS_SITE_LOGO_URL = _web_url(env.str("LEADS_SITE_LOGO_URL", default=""), "LEADS_SITE_LOGO_URL")
LEADS_ACCENT_COLOUR = _accent_colour(env.str("LEADS_ACCENT_COLOUR", default=""))
LEADS_ACCENT_STYLE = _accent_style(LEADS_ACCENT_COLOUR)
LEADS_INTRO_TEXT = env.str("LEADS_INTRO_TEXT", default="").strip()
LEADS_THANKS_TEXT = env.str("LEADS_THANKS_TEXT", default="").strip()

# Staff sign-in: sessions live in DynamoDB; repeated failures slow the guesser down for a while.
SESSION_ENGINE = "leads.accounts.sessions"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_COOKIE_NAME = "leads_session"
LEADS_LOGIN_LOCKOUT_SECONDS = env.int("LEADS_LOGIN_LOCKOUT_SECONDS", default=900)
# Failures are counted where the guesser is (one account from one client; one client over all
# accounts), so nobody elsewhere can lock an owner out. The per-account ceiling only stops guessing
# spread over many addresses, and browsers that signed in to the account before are exempt from it.
LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT = env.int("LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT", default=5)
LEADS_LOGIN_MAX_FAILURES_PER_CLIENT = env.int("LEADS_LOGIN_MAX_FAILURES_PER_CLIENT", default=20)
LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT = env.int("LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT", default=100)
LEADS_LOGIN_DEVICE_COOKIE_AGE = env.int("LEADS_LOGIN_DEVICE_COOKIE_AGE", default=90 * 24 * 3600)
# Who must use two-factor sign-in (TOTP, leads.domain.two_factor): "off" (anyone may turn it on),
# "admins" or "everyone". Someone required who has not enrolled is sent to enrolment after the password.
LEADS_REQUIRE_2FA = env.str("LEADS_REQUIRE_2FA", default="off").strip().lower()
if LEADS_REQUIRE_2FA not in ("off", "admins", "everyone"):
    raise ImproperlyConfigured("LEADS_REQUIRE_2FA must be 'off', 'admins' or 'everyone'.")
# The name authenticator apps show beside the account (several deployments: give each its own).
LEADS_2FA_ISSUER = env.str("LEADS_2FA_ISSUER", default="Leads")
LOGIN_URL = "backoffice:login"  # a URL name: reversed per request, so it keeps the stage
# Checked on every password set (leads.accounts.passwords.validate_new_password): invitation, own change,
# reset, createstaff. At least 12 characters (three short words make a passphrase that long), none of
# Django's 20,000 common passwords, not all digits, and not too like the account's email (or a part of
# it) or name.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email", "name")}},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# "Forgot your password?" (leads.domain.password_reset): how long an emailed link works (Django's own
# setting), and how many links one client, or one address, may ask for per window (counted alike for
# addresses with and without an account, so the limit reveals nothing).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
LEADS_PASSWORD_RESET_WINDOW = env.int("LEADS_PASSWORD_RESET_WINDOW", default=3600)
LEADS_PASSWORD_RESET_MAX_PER_CLIENT = env.int("LEADS_PASSWORD_RESET_MAX_PER_CLIENT", default=10)
LEADS_PASSWORD_RESET_MAX_PER_ADDRESS = env.int("LEADS_PASSWORD_RESET_MAX_PER_ADDRESS", default=3)
# "Where you're signed in": a session's last activity is written at most once per this many seconds
# (one UpdateItem; other requests only read the session). Behind CloudFront, with the
# CloudFront-Viewer-Country and -City headers forwarded to the app, show those instead of the client's
# network (203.0.113.x); off elsewhere, as anyone could send them.
LEADS_SESSION_ACTIVITY_INTERVAL = env.int("LEADS_SESSION_ACTIVITY_INTERVAL", default=300)
LEADS_CLOUDFRONT_LOCATION = env.bool("LEADS_CLOUDFRONT_LOCATION", default=False)
# How long an emailed invitation link works (leads.domain.invitations); a resend starts it again.
LEADS_INVITATION_DAYS = env.int("LEADS_INVITATION_DAYS", default=7)
if not 1 <= LEADS_INVITATION_DAYS <= 90:
    raise ImproperlyConfigured("LEADS_INVITATION_DAYS must be between 1 and 90.")

# Static sites may post the contact form (JSON mode) from these origins, and only these.
LEADS_CORS_ORIGINS = env.list("LEADS_CORS_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = LEADS_CORS_ORIGINS
CORS_URLS_REGEX = r"^/$"
CORS_ALLOW_METHODS = ["OPTIONS", "POST"]
CORS_ALLOW_HEADERS = ["accept", "content-type", "idempotency-key"]

# --- Email ----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="leads@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Only our own stylesheet, icon and script (static/leads/backoffice.js, an enhancement the staff pages work
# without); never an inline script, style or event handler; no framing; forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}
# The accent colour is one <style> element (templates/base.html), allowed by its hash and nothing else;
# a logo on another site, by that site's origin.
if LEADS_ACCENT_STYLE:
    _digest = base64.b64encode(hashlib.sha256(LEADS_ACCENT_STYLE.encode()).digest()).decode()
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"].append(f"'sha256-{_digest}'")
if urlsplit(LEADS_SITE_LOGO_URL).netloc:
    _logo = urlsplit(LEADS_SITE_LOGO_URL)
    # Only a plain host[:port] may enter the policy: a ";" would start a directive of its own.
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]+)?", _logo.netloc):
        raise ImproperlyConfigured("LEADS_SITE_LOGO_URL's host must be a plain host name (and port).")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(f"{_logo.scheme}://{_logo.netloc}")

# Static files: whitenoise serves them (no separate web server on Lambda or in a container), with
# hashed, compressed names in production (`collectstatic` runs at image build / before `zappa deploy`).
STORAGES = {
    "staticfiles": {
        "BACKEND": "leads.web.staticfiles.ScriptPrefixedStaticFilesStorage"
        if DEBUG
        else "leads.web.staticfiles.ScriptPrefixedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Error reports (AdminEmailHandler, if a deployment turns error mail on) show no form values, query
# strings, cookies, client addresses or local variables when DEBUG is off (leads.web.error_reports).
DEFAULT_EXCEPTION_REPORTER = "leads.web.error_reports.PersonalDataExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "leads.web.error_reports.PersonalDataFilter"

# JSON lines in production (CloudWatch, container log collectors); readable text in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": JSON_FORMATTER,
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Staff pages are addressed by email: keep personal data out of Django's own request lines.
    "filters": {
        "redact_emails": {"()": "leads.web.request_log.RedactEmails"},
        # Django's records carry the request, whose repr has the query string: method and path only.
        "hide_requests": {"()": "leads.web.request_log.HideRequests"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["redact_emails", "hide_requests"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default config gives "django" its own handler; one handler (root) is enough.
        "django": {"level": "INFO", "propagate": True, "handlers": []},
        **{name: {"filters": ["redact_emails"]} for name in ("django.request", "django.server")},
        # runserver already prints one line per request in development.
        "leads.request": {"level": "WARNING" if DEBUG else "INFO"},
        # Zappa logs its own access line per request on Lambda; leads.request already says more.
        # botocore's and pynamodb's DEBUG lines print whole requests, django.template's whole template
        # contexts: personal data, so never below WARNING (tests/test_no_personal_data_in_logs.py).
        **{name: {"level": "WARNING"} for name in ("werkzeug", "botocore", "pynamodb", "zappa", "django.template")},
    },
}
