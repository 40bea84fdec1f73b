"""handler500: the server error page, with the site's branding (Django's own renders it without context)."""

from django.http import HttpRequest, HttpResponseServerError
from django.template import loader

from leads.web.context_processors import branding


def server_error(request: HttpRequest) -> HttpResponseServerError:
    """Render 500.html with the request and branding only: no context processor that could fail again."""
    template = loader.get_template("500.html")
    return HttpResponseServerError(template.render({"request": request, **branding(request)}))
