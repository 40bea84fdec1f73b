"""The ceiling's views (no data access at all) and the URLs of ceiling and floor, side by side.

With BENCH_CEILING_ONLY=1 the ceiling alone: the cold start of plain Django never imports PynamoDB.
"""
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
COUNTS = {f"status#{s}": 0 for s in ("new", "contacted", "qualified", "converted", "lost")}


def ceiling(request):
    return render(request, "baseline/page.html", {"title": "Ceiling", "counts": COUNTS, "rows": ROWS})


@csrf_exempt
def ceiling_post(request):
    return JsonResponse({"id": "0" * 32, "fields": len(json.loads(request.body or b"{}"))}, status=201)


urlpatterns = [path("ceiling/", ceiling), path("ceiling/post/", ceiling_post), path("healthz", lambda r: HttpResponse("ok"))]
if not os.environ.get("BENCH_CEILING_ONLY"):
    from . import floor

    urlpatterns += [path("floor/leads/", floor.inbox), path("floor/leads/<str:lead_id>/", floor.lead_page),
                    path("floor/contact/", floor.contact), path("floor/healthz", floor.healthz)]
