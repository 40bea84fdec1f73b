"""Ceiling and floor pages, side by side; with BENCH_CEILING_ONLY=1 the ceiling alone (no PynamoDB imported)."""
import os

from django.urls import path

from . import views

urlpatterns = [path("ceiling/", views.ceiling), path("ceiling/post/", views.ceiling_post), path("healthz", views.ready)]
if not os.environ.get("BENCH_CEILING_ONLY"):  # the cold start of plain Django never imports the floor
    from . import floor

    urlpatterns += [path("floor/leads/", floor.inbox), path("floor/leads/<str:lead_id>/", floor.lead_page),
                    path("floor/contact/", floor.contact), path("floor/healthz", floor.healthz)]
