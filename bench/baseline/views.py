"""The ceiling: plain Django views with no data access at all."""
import json

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

# 25 rows held in memory: the ceiling renders as much HTML as an inbox page, without reading anything.
ROWS = [
    {"lead_id": f"{n:032x}", "created_at": "2026-11-21T17:42:59.123456Z", "name": f"Ada Lovelace {n}",
     "email": f"ada.lovelace{n}@acme.example", "company": "Acme", "subject": "Pricing for our team",
     "status": "new", "owner": None}
    for n in range(25)
]
COUNTS = {f"status#{s}": 0 for s in ("new", "contacted", "qualified", "converted", "lost")}


def ceiling(request):
    return render(request, "baseline/page.html", {"title": "Ceiling", "counts": COUNTS, "rows": ROWS})


@csrf_exempt
def ceiling_post(request):
    data = json.loads(request.body or b"{}")
    return JsonResponse({"id": "0" * 32, "fields": len(data)}, status=201)


def ready(request):
    return HttpResponse("ok")
