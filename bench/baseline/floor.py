"""The data floor: each page's DynamoDB calls with bare PynamoDB, then the baseline template (never the app's code)."""
import json
import secrets
import uuid
from datetime import UTC, datetime

from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
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
    """GetItem session, Query of the status tally shards (tally-index), Query created-index (or status-index) of 25."""
    shards = list(Counter.tally_index.query("status"))
    counts = {s: sum(int(getattr(shard, f"n_{s}") or 0) for shard in shards) for s in STATUSES}
    status, email = request.GET.get("status"), request.GET.get("email")
    index, key = ((Lead.email_index, email.strip().lower()) if email else (Lead.status_index, status) if status
                  else (Lead.created_index, "all"))
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


@signed_in
def lead_edit(request, lead_id):
    """POST: GetItem session, GetItem lead, Query staff roster-index, one TransactWriteItems (lead, history, 2 shards)."""
    lead = Lead.get(lead_id, consistent_read=True)
    staff = list(Staff.roster_index.query("staff"))
    status, version, now = request.POST["status"], int(request.POST["version"]), datetime.now(UTC)
    if status not in STATUSES or lead.version != version or request.POST.get("owner", "") not in ("", *(s.email for s in staff)):
        return HttpResponseForbidden()
    at, old = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), lead.status
    with TransactWrite(connection=SHARED) as tx:
        tx.update(lead, actions=[Lead.status.set(status), Lead.status_email.set(f"{status}#{lead.email}"),
                                 Lead.status_domain.set(f"{status}#{lead.email_domain}"), Lead.updated_at.set(at),
                                 Lead.owner_status.set(f"{lead.owner or '-'}#{status}"),
                                 Lead.version.set(version + 1)], condition=Lead.version == version)
        tx.save(HistoryEvent(lead_id=lead_id, event_id=f"{at}#{secrets.token_hex(4)}", at=at, actor="bench",
                             action="updated", changes=json.dumps({"status": [old, status]}), version=version + 1))
        shard = secrets.randbelow(TALLY_SHARDS)
        tx.update(Counter(f"tally#status#{shard:02d}"),
                  actions=[getattr(Counter, f"n_{old}").add(-1), getattr(Counter, f"n_{status}").add(1),
                           Counter.tally_kind.set("status")])
    return redirect(f"/floor/leads/{lead_id}/")


@csrf_exempt
def contact(request):
    """GET: the form page. POST: one TransactWriteItems (the new lead, its history item, a status and a day shard)."""
    if request.method == "GET":
        return render(request, "baseline/page.html", {"title": "Contact", "form": True})
    form = request.content_type != "application/json"
    data, now = (request.POST if form else json.loads(request.body)), datetime.now(UTC)
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
        tx.update(Counter(f"tally#status#{shard:02d}"),
                  actions=[Counter.n_new.add(1), Counter.tally_kind.set("status")])
        tx.update(Counter(f"tally#day#{now:%Y-%m}#{shard:02d}"), actions=[getattr(Counter, f"d{now.day:02d}").add(1)])
    return redirect("/floor/contact/") if form else JsonResponse({"id": lead_id, "created": True}, status=201)


def healthz(request):
    """A GetItem on the lead table, as the app's."""
    try:
        Lead.get("healthz-probe")
    except Lead.DoesNotExist:
        pass
    return JsonResponse({"status": "ok"})
