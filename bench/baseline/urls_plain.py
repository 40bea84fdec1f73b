"""The ceiling alone: plain Django, nothing of PynamoDB or botocore imported."""
from django.urls import path

from . import views

urlpatterns = [
    path("ceiling/", views.ceiling),
    path("healthz", views.ready),
]
