"""The data floor: each page's DynamoDB calls with bare PynamoDB, then the baseline template (never the app's code)."""
import json
import secrets
import uuid
from datetime import UTC, datetime

from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from pynamodb.transactions import TransactWrite

from .models import SHARED, STATUSES, TALLY_SHARDS, Counter, HistoryEvent, Lead, Session, Staff

NAMESPACE = uuid.UUID("0f1d4d8c-3d43-4a4e-b7d5-6c63f1f0a7e2")


def signed_in(view):
    """403 unless the session cookie names a stored session (one consistent GetItem, as the app)."""
    def wrapper(request, **kwargs):
        try:
            Session.get(request.COOKIES["leads_session"], consistent_read=True)
        except (KeyError, Session.DoesNotExist):
            return HttpResponseForbidden()
        return view(request, **kwargs)
    return wrapper


@signed_in
def inbox(request):
    """GetItem session, BatchGetItem of the 32 status tally shards, Query created-index (or status-index) of 25."""
    shards = list(Counter.batch_get([f"tally#status#{n:02d}" for n in range(TALLY_SHARDS)]))
    counts = {s: sum(int(getattr(shard, f"n_{s}") or 0) for shard in shards) for s in STATUSES}
    status = request.GET.get("status")
    index, key = (Lead.status_index, status) if status else (Lead.created_index, "all")
    rows = list(index.query(key, scan_index_forward=False, limit=25))
    return render(request, "baseline/page.html", {"title": "Inbox", "counts": counts, "rows": rows})


@signed_in
def lead_page(request, lead_id):
    """GetItem session, GetItem lead, Query history (newest 100), Query staff roster-index."""
    lead = Lead.get(lead_id, consistent_read=True)
    history = [{"at": e.at, "actor": e.actor, "action": e.action, "changes": json.loads(e.changes or "{}")}
               for e in HistoryEvent.query(lead_id, scan_index_forward=False, limit=100)]
    staff = list(Staff.roster_index.query("staff"))
    return render(request, "baseline/page.html", {"title": lead.name, "lead": lead, "history": history, "staff": staff})


@csrf_exempt
def contact(request):
    """One TransactWriteItems: the new lead, its history item, one random status shard and day shard."""
    data, now = json.loads(request.body), datetime.now(UTC)
    at, key = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), request.headers.get("Idempotency-Key", "")
    lead_id = uuid.uuid5(NAMESPACE, key).hex if key else uuid.uuid4().hex
    email = data["email"].strip().lower()
    domain = email.rpartition("@")[2]
    lead = Lead(lead_id=lead_id, feed="all", created_at=at, updated_at=at, name=data["name"], email=email,
                email_domain=domain, company=data.get("company") or None, subject=data["subject"],
                message=data["message"], status="new", source="api", status_email=f"new#{email}",
                status_domain=f"new#{domain}", version=1)
    with TransactWrite(connection=SHARED) as tx:
        tx.save(lead, condition=Lead.lead_id.does_not_exist())
        tx.save(HistoryEvent(lead_id=lead_id, event_id=f"{at}#{secrets.token_hex(4)}", at=at, actor="visitor",
                             action="created", changes="{}", version=1))
        shard = secrets.randbelow(TALLY_SHARDS)
        tx.update(Counter(f"tally#status#{shard:02d}"), actions=[Counter.n_new.add(1)])
        tx.update(Counter(f"tally#day#{now:%Y-%m}#{shard:02d}"), actions=[getattr(Counter, f"d{now.day:02d}").add(1)])
    return JsonResponse({"id": lead_id, "created": True}, status=201)


def healthz(request):
    """A GetItem on the lead table, as the app's."""
    try:
        Lead.get("healthz-probe")
    except Lead.DoesNotExist:
        pass
    return JsonResponse({"status": "ok"})
