"""Root URLconf: the public contact form and the health check."""
from django.urls import include, path

urlpatterns = [
    path("", include("leads.urls")),
]
