"""1. Request economy: each page's DynamoDB calls, as the app records them (leads.storage.call_count), in a child."""
import datetime
import html
import itertools
import json
import os
import re
import sys
import time
import uuid
from urllib.parse import urlencode

from .common import SESSION_COOKIE, contact_json, django_client, median

# (key, label, list page?, URL of a read page) — the pages the budget speaks about, in the order they are reported.
# Read pages' URLs take the lead id, email and cursor found on the inbox (status "new" is half the demo leads).
ECONOMY_PAGES = [
    ("contact_get", "contact form (GET /)", False, "/"), ("contact_submit", "contact submit (form POST /)", False, None),
    ("contact_json", "contact submit (JSON POST /)", False, None),
    ("inbox", "inbox, unfiltered", True, "/admin/leads/"), ("inbox_next", "inbox, next page (cursor)", True,
                                                            "/admin/leads/?{next}"),
    ("by_status", "inbox by status", True, "/admin/leads/?status=new"),
    ("by_email", "inbox by email", True, "/admin/leads/?{email}"),
    ("by_domain", "inbox by domain", True, "/admin/leads/?q=%40acme.example"),
    ("by_owner_me", "inbox, assigned to me", True, "/admin/leads/?owner=me"),
    ("by_owner_none", "inbox, unassigned", True, "/admin/leads/?owner=none"),
    ("by_owner_status", "inbox, mine with a status", True, "/admin/leads/?owner=me&status=new"),
    ("by_dates", "inbox, received last 30 days", True, "/admin/leads/?{dates}"),
    ("by_prefix", "inbox, address starting with", True, "/admin/leads/?{prefix}"),
    ("follow_ups_today", "follow-ups due today (mine)", False, "/admin/follow-ups/today/"),
    ("follow_ups_overdue", "follow-ups overdue (unassigned)", False, "/admin/follow-ups/overdue/?owner=unassigned"),
    ("webhooks", "failed webhooks (admins)", False, "/admin/webhooks/"),
    ("lead", "lead page", False, "/admin/leads/{lead}/"), ("edit_save", "lead edit save (POST)", False, None),
    ("delete_confirm", "delete, confirm (GET)", False, None), ("delete", "delete (POST)", False, None),
    ("export", "export (first 1,000 rows)", False, None), ("dashboard", "dashboard (not in the brief)", False, "/admin/"),
]
READ_PAGES = {key: url for key, _, _, url in ECONOMY_PAGES if url}
EXPORT_ROWS = 1000


def child(sizes: list[int], prefixes: list[str], timing_blocks: int, timing_repeats: int) -> dict:
    clients = {size: django_client() for size in sizes}  # sets Django up first
    from django.conf import settings

    from leads.storage import call_count, dynamodb

    results, signin, targets = {str(size): {} for size in sizes}, {}, {}

    def use(size: int) -> None:
        """Point the app at this size's tables, as the test suite's fixture does (a new client, recording too)."""
        if settings.DYNAMODB_TABLE_PREFIX != prefixes[sizes.index(size)]:
            settings.DYNAMODB_TABLE_PREFIX = prefixes[sizes.index(size)]
            dynamodb.configure()

    def measure(size: int, key: str, request, expected=200, shown=0) -> dict:
        """Make the request while recording its calls, check its status, and keep its calls under key."""
        use(size)
        with call_count.counting() as calls:
            response = request()
        response, shown = response if isinstance(response, tuple) else (response, shown)
        if response.status_code != expected:
            raise RuntimeError(f"{key}: {response.status_code}: {response.content[:800]!r}")
        ops = [call.operation for call in calls]
        # A list page's Query reads one index entry more than it shows (so a last page offers no "Next"):
        # counted in lead_items_read as DynamoDB read it, and named here, so reports can say so.
        returned = sum(call.returned for call in calls if call.tables == ["leads"])
        results[str(size)][key] = {
            "calls": len(ops), "operations": ops, "scans": ops.count("Scan"), "shown": shown,
            "status": response.status_code, "items_read": sum(sum(call.read.values()) for call in calls),
            "lead_items_read": sum(call.read.get("leads", 0) for call in calls),
            "lookahead": max(0, returned - shown) if key.startswith(("inbox", "by_")) else 0,
            **dict(zip(("read_units", "write_units"), call_count.billed_units(calls), strict=True)),
            "detail": [{"op": call.operation, "tables": call.tables, "index": call.index, "units": call.capacity}
                       for call in calls]}
        return results[str(size)][key]

    # Sign in (once per size; reported apart, not a page of the brief), then find the leads and links the pages use.
    for size, client in clients.items():
        signin[str(size)] = measure(size, "signin", lambda: client.post("/admin/login/", {
            "email": os.environ["LEADS_ADMIN_EMAIL"], "password": os.environ["LEADS_ADMIN_PASSWORD"]}), 302)
        del results[str(size)]["signin"]
        page = client.get("/admin/leads/").content.decode()
        ids = re.findall(r'name="ids" value="([0-9a-f]{32})"', page)
        cursor = re.search(r'href="\?([^"]*cursor=[^"]*)" rel="next"', page)
        email = html.unescape(re.search(r'aria-label="Select lead from ([^"]+)"', page).group(1))
        today = datetime.datetime.now(datetime.UTC).date()  # the bench's staff has no time zone: UTC days
        targets[size] = {"lead": ids[0], "edit": ids[1], "delete": ids[2], "email": urlencode({"q": email}),
                         "next": html.unescape(cursor.group(1)) if cursor else None,
                         "dates": urlencode({"from": (today - datetime.timedelta(days=29)).isoformat(),
                                             "to": today.isoformat()}),
                         "prefix": urlencode({"q": email.split("@")[0][:3]})}

    def get(size: int, key: str):
        """A read page's request; list pages count the rows shown (one checkbox a row), the lead page shows one."""
        url, listing = READ_PAGES[key].format(**targets[size]), key.startswith(("inbox", "by_"))
        shown = lambda page: page.count('name="ids" value="') if listing else int(key == "lead")  # noqa: E731
        return lambda: (r := clients[size].get(url), shown(r.content.decode()))

    def export(client):
        """The first EXPORT_ROWS rows of the CSV, streamed (the whole table when it is smaller)."""
        response = client.get("/admin/leads/export.csv")
        rows = sum(1 for _ in itertools.islice(response.streaming_content, EXPORT_ROWS + 1)) - 1  # less the header
        response.close()
        return response, rows

    for key in READ_PAGES:
        for size in sizes:
            measure(size, key, get(size, key))
    for size in sizes:
        measure(size, "export", lambda: export(clients[size]))
    for size in sizes:  # writes, each once per size: an edit, a delete (confirm, then do it), two contact posts
        client, t = clients[size], targets[size]
        use(size)
        detail = client.get(f"/admin/leads/{t['edit']}/").content.decode()
        version = re.search(r'name="version" value="(\d+)"', detail).group(1)
        selected = re.search(r'<option value="(\w+)" selected>', detail).group(1)
        status = "qualified" if selected == "contacted" else "contacted"
        measure(size, "edit_save", lambda: client.post(
            f"/admin/leads/{t['edit']}/", {"status": status, "owner": "", "notes": "Called.", "version": version}), 302)
        measure(size, "delete_confirm", lambda: client.get(f"/admin/leads/{t['delete']}/delete/"), shown=1)
        measure(size, "delete", lambda: client.post(f"/admin/leads/{t['delete']}/delete/"), 302)
        visitor = django_client()
        token = re.search(r'name="token" value="([^"]+)"', visitor.get("/").content.decode()).group(1)
        measure(size, "contact_submit", lambda: visitor.post("/", {
            "token": token, "name": "Ada Lovelace", "email": f"ada-{uuid.uuid4().hex[:8]}@economy.example",
            "company": "", "subject": "Pricing", "message": "Hello from the economy benchmark."}), 302)
        body, headers = contact_json()
        measure(size, "contact_json", lambda: visitor.post("/", body, content_type="application/json",
                                                           headers=headers), 201)

    # The status counts every list page reads, both ways, at the large size: the tally-index Query the app
    # makes, and the BatchGetItem of every shard key it replaced (billed 4 KB a key, as AWS reads a batch).
    from leads.domain import tallies
    from leads.storage.models import Tally

    use(sizes[-1])
    tally_read = {}
    for way, read in (("query", tallies.status_shards), ("batch", lambda: Tally.batch_get(tallies.status_keys()))):
        with call_count.counting() as calls:
            shards = len(list(read()))
        tally_read[way] = {"shards": shards, "read_units": call_count.billed_units(calls)[0]}

    # In-process latency of the read pages at each size, in blocks (switching tables needs a new client).
    timings = {str(size): {key: [] for key in READ_PAGES} for size in sizes}
    for _block, size, key in itertools.product(range(timing_blocks), sizes, READ_PAGES):
        use(size)
        request = get(size, key)
        request()  # warm (connection pool, template cache)
        for _ in range(timing_repeats):
            started = time.perf_counter()
            request()
            timings[str(size)][key].append((time.perf_counter() - started) * 1000)
    large = sizes[-1]  # what the later parts measure with: a lead, and the staff's session (not kept in the results)
    return {"sizes": sizes, "pages": results, "signin": signin, "export_rows": EXPORT_ROWS,
            "lead": targets[large]["lead"], "edit_lead": targets[large]["edit"], "tally_read": tally_read,
            "session": clients[large].cookies[SESSION_COOKIE].value, "latency_ms": {
                size: {key: median(values) for key, values in pages.items()} for size, pages in timings.items()}}


if __name__ == "__main__":
    sizes, prefixes, blocks, repeats = sys.argv[1:5]
    print(json.dumps(child([int(s) for s in sizes.split(",")], prefixes.split(","), int(blocks), int(repeats))))
