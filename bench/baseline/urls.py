"""The ceiling's views (no data access) and the URLs of ceiling and floor; BENCH_CEILING_ONLY=1 leaves PynamoDB out."""
import json
import os

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

# 25 rows held in memory: the ceiling renders as much HTML as an inbox page, without reading anything.
ROWS = [{"lead_id": f"{n:032x}", "created_at": "2026-11-21T17:42:59.123456Z", "name": f"Ada Lovelace {n}",
         "email": f"ada.lovelace{n}@acme.example", "company": "Acme", "subject": "Pricing for our team",
         "status": "new", "owner": None} for n in range(25)]
COUNTS = {s: 0 for s in ("new", "contacted", "qualified", "converted", "lost")}

urlpatterns = [
    path("ceiling/", lambda request: render(request, "baseline/page.html", {"title": "Ceiling", "counts": COUNTS, "rows": ROWS})),
    path("ceiling/post/", csrf_exempt(lambda request: JsonResponse(
        {"id": "0" * 32, "fields": len(json.loads(request.body or b"{}"))}, status=201))),
    path("healthz", lambda request: HttpResponse("ok")),
]
if not os.environ.get("BENCH_CEILING_ONLY"):  # the plain-Django cold start must not import PynamoDB
    from . import floor

    urlpatterns += [path("floor/leads/", floor.inbox), path("floor/leads/<str:lead_id>/", floor.lead_page),
                    path("floor/leads/<str:lead_id>/edit/", floor.lead_edit),
                    path("floor/contact/", floor.contact), path("floor/healthz", floor.healthz)]
