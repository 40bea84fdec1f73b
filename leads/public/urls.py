"""Public URLs: the contact form, the thank-you page and the health check."""
from django.urls import path

from leads.public import views

app_name = "leads"

urlpatterns = [
    path("", views.ContactView.as_view(), name="contact"),
    path("thanks/", views.ThanksView.as_view(), name="thanks"),
    path("healthz", views.healthz, name="healthz"),
]
