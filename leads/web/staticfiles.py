"""Static file URLs under the request's script prefix (an API Gateway stage), worked out per request.

Behind API Gateway's execute-api URL every page lives under the stage (`/production/…`): Zappa puts the
stage in SCRIPT_NAME and the rest in PATH_INFO, and Django's `reverse()` prefixes every URL with it per
request. Static URLs are different: Django adds the prefix to a relative STATIC_URL only once, the
first time the setting is read, and caches the result. That first read happens at start-up (whitenoise
reads STATIC_URL when the WSGI app is built, before any request has set a prefix), so every stylesheet
link lost the stage; had it happened inside a request, every later request would get that request's
prefix instead, e.g. a stage on the custom domain.

So STATIC_URL is an absolute path (`/static/`, which Django never prefixes and which is what
whitenoise must match: PATH_INFO never holds the stage), and these storages add the current request's
prefix in `url()`, which `{% static %}` calls on every use. A custom storage rather than a middleware
or a context processor: `{% static %}` works everywhere then — error pages Django renders without a
request context (500, CSRF failure) included — and nothing rewrites HTML after the fact.
"""
from django.contrib.staticfiles.storage import StaticFilesStorage
from django.urls import get_script_prefix
from whitenoise.storage import CompressedManifestStaticFilesStorage


class ScriptPrefixMixin:
    """Prefix root-relative URLs with the script prefix of the request being served (none: "/")."""

    def url(self, name, *args, **kwargs):
        url = super().url(name, *args, **kwargs)
        if url.startswith("/") and not url.startswith("//"):
            return get_script_prefix().rstrip("/") + url
        return url


class ScriptPrefixedStaticFilesStorage(ScriptPrefixMixin, StaticFilesStorage):
    """Development and tests: files under their own names, found by the finders."""


class ScriptPrefixedManifestStaticFilesStorage(ScriptPrefixMixin, CompressedManifestStaticFilesStorage):
    """Production: whitenoise's hashed, compressed files (`collectstatic` builds them)."""
