"""Root URLconf: the public contact form and health check, and the staff admin under /admin/."""
from django.urls import include, path

urlpatterns = [
    path("admin/", include("leads.admin_urls")),
    path("", include("leads.urls")),
]

handler400 = "leads.views.bad_request"
