"""1. Request economy: every DynamoDB call of each page, recorded by botocore hooks, in a child with the app's settings."""
import html
import itertools
import json
import os
import re
import statistics
import sys
import time
import uuid
from urllib.parse import urlencode

from .common import HTTPS, contact_json

# (key, label, list page?) — the pages the budget speaks about, in the order they are reported.
ECONOMY_PAGES = [
    ("contact_get", "contact form (GET /)", False), ("contact_submit", "contact submit (form POST /)", False),
    ("contact_json", "contact submit (JSON POST /)", False), ("inbox", "inbox, unfiltered", True),
    ("inbox_next", "inbox, next page (cursor)", True), ("by_status", "inbox by status", True),
    ("by_email", "inbox by email", True), ("by_domain", "inbox by domain", True), ("lead", "lead page", False),
    ("edit_save", "lead edit save (POST)", False), ("delete_confirm", "delete, confirm (GET)", False),
    ("delete", "delete (POST)", False), ("export", "export (first 1,000 rows)", False),
    ("dashboard", "dashboard (not in the brief)", False),
]
# The read pages: their URL (from the lead ids, email and cursor found on the inbox); list pages count rows shown.
READ_PAGES = {
    "contact_get": lambda t: "/", "inbox": lambda t: "/admin/leads/", "inbox_next": lambda t: f"/admin/leads/?{t['next']}",
    "by_status": lambda t: f"/admin/leads/?status={STATUS}", "by_email": lambda t: "/admin/leads/?" + urlencode({"q": t["email"]}),
    "by_domain": lambda t: "/admin/leads/?" + urlencode({"q": "@" + DOMAIN}), "lead": lambda t: f"/admin/leads/{t['lead']}/",
    "dashboard": lambda t: "/admin/",
}
EXPORT_ROWS = 1000
STATUS = "new"  # half the demo leads: a full page at any size
DOMAIN = "acme.example"


class Recorder:
    """Every DynamoDB call made through a botocore client while recording, with items read and written."""

    def __init__(self, prefix: str):
        self.prefix, self.calls, self.recording = prefix, [], False

    def install(self, client) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self.before, unique_id="bench-economy-before")
        client.meta.events.register("after-call.dynamodb", self.after, unique_id="bench-economy-after")

    def before(self, params, model, **_):
        if not self.recording:
            return
        table = lambda name: name.removeprefix(self.prefix)  # noqa: E731
        op, requests = model.name, params.get("RequestItems", {})
        tables = [table(params["TableName"])] if "TableName" in params else [table(t) for t in requests]
        written = sum(len(v) for v in requests.values()) if op == "BatchWriteItem" else int(op in ("PutItem", "UpdateItem", "DeleteItem"))
        if "TransactItems" in params:
            written = len(params["TransactItems"])
            tables = sorted({table(o["TableName"]) for item in params["TransactItems"] for o in item.values()})
        keys = sum(len(v["Keys"]) for v in requests.values()) if op == "BatchGetItem" else None
        self.calls.append({"op": op, "tables": tables, "index": params.get("IndexName"), "limit": params.get("Limit"),
                           "keys": keys, "read": 0, "returned": 0, "read_by_table": {}, "written": written})

    def after(self, parsed, model, **_):
        if not self.recording or not self.calls:
            return
        call, op = self.calls[-1], model.name
        if op in ("Query", "Scan"):
            call["read"], call["returned"] = parsed.get("ScannedCount", 0), parsed.get("Count", 0)
            call["read_by_table"] = {call["tables"][0]: call["read"]}
        elif op == "GetItem":
            call["read"] = call["returned"] = int("Item" in parsed)
            call["read_by_table"] = {call["tables"][0]: call["read"]}
        elif op in ("BatchGetItem", "TransactGetItems"):
            responses = parsed.get("Responses", {})
            call["read_by_table"] = ({t.removeprefix(self.prefix): len(items) for t, items in responses.items()}
                                     if isinstance(responses, dict) else
                                     {"(transaction)": sum(1 for r in responses if r.get("Item"))})
            call["read"] = call["returned"] = sum(call["read_by_table"].values())
        if "Error" in parsed:
            call["error"] = parsed["Error"].get("Code")


def summarise(calls: list[dict]) -> dict:
    ops = [c["op"] for c in calls]
    return {
        "calls": len(calls), "operations": ops,
        "detail": [{k: v for k, v in c.items() if k != "read_by_table"} for c in calls],
        "items_read": sum(c["read"] for c in calls),
        "lead_items_read": sum(c["read_by_table"].get("leads", 0) for c in calls),
        "items_written": sum(c["written"] for c in calls),
        "scans": ops.count("Scan"),
    }


def child(sizes: list[int], prefixes: list[str], timing_blocks: int, timing_repeats: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from leads.storage import dynamodb

    recorders = {size: Recorder(prefix) for size, prefix in zip(sizes, prefixes)}
    clients = {size: Client(headers=HTTPS) for size in sizes}
    current = {"size": None}
    results: dict = {str(size): {} for size in sizes}

    def use(size: int) -> Recorder:
        """Point the app at this size's tables (as the test suite's fixture does) and hook its client."""
        if current["size"] != size:
            settings.DYNAMODB_TABLE_PREFIX = prefixes[sizes.index(size)]
            dynamodb.configure()
            recorders[size].install(dynamodb.shared_connection().client)
            current["size"] = size
        return recorders[size]

    def measure(size: int, key: str | None, fn, expected=200, shown=0):
        """Run fn (a request) with the recorder on; check its status and keep its calls under key."""
        recorder = use(size)
        recorder.calls, recorder.recording = [], True
        try:
            response = fn()
        finally:
            recorder.recording = False
        if isinstance(response, tuple):
            response, shown = response
        if response.status_code != expected:
            raise RuntimeError(f"{key}: {response.status_code}: {response.content[:800]!r}")
        if key:
            results[str(size)][key] = {**summarise(recorder.calls), "shown": shown, "status": response.status_code}
        return summarise(recorder.calls)

    def shown(response) -> int:
        return response.content.decode().count('name="ids" value="')

    # Sign in (once per size), then find the leads and links the pages will use.
    signin, targets = {}, {}
    for size in sizes:
        client = clients[size]
        signin[str(size)] = measure(size, None, lambda: client.post("/admin/login/", {
            "email": os.environ["LEADS_ADMIN_EMAIL"], "password": os.environ["LEADS_ADMIN_PASSWORD"]}), 302)
        page = client.get("/admin/leads/").content.decode()
        ids = re.findall(r'name="ids" value="([0-9a-f]{32})"', page)
        nxt = re.search(r'href="\?([^"]*cursor=[^"]*)" rel="next"', page)
        targets[size] = {"lead": ids[0], "edit": ids[1], "delete": ids[2], "next": html.unescape(nxt.group(1)) if nxt else None,
                         "email": html.unescape(re.search(r'aria-label="Select lead from ([^"]+)"', page).group(1))}

    def get(size: int, key: str):
        url, counted = READ_PAGES[key](targets[size]), key.startswith(("inbox", "by_"))
        return lambda: (r := clients[size].get(url), shown(r) if counted else int(key == "lead"))

    for key in READ_PAGES:
        for size in sizes:
            measure(size, key, get(size, key))

    for size in sizes:  # export: stream the first EXPORT_ROWS rows (the whole table when it is smaller)
        def export():
            response = clients[size].get("/admin/leads/export.csv")
            rows = sum(1 for _ in itertools.islice(response.streaming_content, EXPORT_ROWS + 1)) - 1  # less the header
            response.close()
            return response, rows

        measure(size, "export", export)

    for size in sizes:  # writes, each once per size: an edit, a delete (confirm, then do it), two contact posts
        client, t = clients[size], targets[size]
        use(size)
        detail = client.get(f"/admin/leads/{t['edit']}/").content.decode()
        version = re.search(r'name="version" value="(\d+)"', detail).group(1)
        status = "contacted" if re.search(r'<option value="(\w+)" selected>', detail).group(1) != "contacted" else "qualified"
        measure(size, "edit_save", lambda: client.post(
            f"/admin/leads/{t['edit']}/", {"status": status, "owner": "", "notes": "Called.", "version": version}), 302)
        measure(size, "delete_confirm", lambda: client.get(f"/admin/leads/{t['delete']}/delete/"), shown=1)
        measure(size, "delete", lambda: client.post(f"/admin/leads/{t['delete']}/delete/"), 302)
        visitor = Client(headers=HTTPS)
        token = re.search(r'name="token" value="([^"]+)"', visitor.get("/").content.decode()).group(1)
        measure(size, "contact_submit", lambda: visitor.post("/", {
            "token": token, "name": "Ada Lovelace", "email": f"ada-{uuid.uuid4().hex[:8]}@economy.example",
            "company": "", "subject": "Pricing", "message": "Hello from the economy benchmark."}), 302)
        body, headers = contact_json()
        measure(size, "contact_json", lambda: visitor.post("/", body, content_type="application/json", headers=headers), 201)

    # In-process latency of the read pages at each size, in blocks (switching tables needs a new client).
    timings: dict = {str(size): {key: [] for key in READ_PAGES} for size in sizes}
    for _block in range(timing_blocks):
        for size in sizes:
            use(size)
            for key in READ_PAGES:
                fn = get(size, key)
                fn()  # warm (connection pool, template cache)
                for _ in range(timing_repeats):
                    started = time.perf_counter()
                    fn()
                    timings[str(size)][key].append((time.perf_counter() - started) * 1000)
    latency = {size: {key: statistics.median(v) for key, v in pages.items()} for size, pages in timings.items()}
    return {"sizes": sizes, "pages": results, "signin": signin, "latency_ms": latency,
            "export_rows": EXPORT_ROWS, "status_filter": STATUS, "domain": DOMAIN}


if __name__ == "__main__":
    sizes, prefixes, blocks, repeats = sys.argv[1:5]
    print(json.dumps(child([int(s) for s in sizes.split(",")], prefixes.split(","), int(blocks), int(repeats))))
