"""Root URLconf: the public contact form and health check, and the staff back office under /admin/."""
from django.urls import include, path

urlpatterns = [
    path("admin/", include("leads.backoffice.urls")),
    path("", include("leads.public.urls")),
]

handler400 = "leads.public.views.bad_request"
handler500 = "leads.web.error_pages.server_error"
