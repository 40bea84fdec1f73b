"""Ceiling and floor pages, side by side."""
from django.urls import path

from . import floor, views

urlpatterns = [
    path("ceiling/", views.ceiling),
    path("ceiling/post/", views.ceiling_post),
    path("floor/leads/", floor.inbox),
    path("floor/leads/<str:lead_id>/", floor.lead_page),
    path("floor/contact/", floor.contact),
    path("floor/healthz", floor.healthz),
    path("healthz", views.ready),
]
