"""1. DynamoDB request economy: calls and items read per page, at a small and a large table.

The pages are driven in-process through Django's test client, with production settings, against
DynamoDB Local. botocore's own event hooks on the app's (single, shared) client record every call:
``before-parameter-build`` gives the operation, table, index and Limit; ``after-call`` gives what came
back (ScannedCount/Count for Query and Scan, Item for GetItem, Responses for BatchGetItem).

Run as a child process (it needs the app's settings): ``python -m bench.economy --out F --sizes ...``;
bench.run starts it with the environment of bench.common.app_env.
"""
import argparse
import html
import json
import os
import re
import statistics
import sys
import time
import uuid

ECONOMY_PAGES = [
    # (key, label, list page?) — the pages the budget speaks about, in the order they are measured.
    ("contact_get", "contact form (GET /)", False),
    ("contact_submit", "contact submit (form POST /)", False),
    ("contact_json", "contact submit (JSON POST /)", False),
    ("inbox", "inbox, unfiltered", True),
    ("inbox_next", "inbox, next page (cursor)", True),
    ("by_status", "inbox by status", True),
    ("by_email", "inbox by email", True),
    ("by_domain", "inbox by domain", True),
    ("lead", "lead page", False),
    ("edit_save", "lead edit save (POST)", False),
    ("delete_confirm", "delete, confirm (GET)", False),
    ("delete", "delete (POST)", False),
    ("export", "export (first 1,000 rows)", False),
    ("dashboard", "dashboard (not in the brief)", False),
]
READ_PAGES = ["contact_get", "inbox", "inbox_next", "by_status", "by_email", "by_domain", "lead", "dashboard"]
EXPORT_ROWS = 1000
STATUS = "new"  # half the demo leads: a full page at any size
DOMAIN = "acme.example"


class Recorder:
    """Every DynamoDB call made through a botocore client while recording, with items read and written."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.calls: list[dict] = []
        self.recording = False

    def install(self, client) -> None:
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self.before, unique_id="bench-economy-before")
        events.register("after-call.dynamodb", self.after, unique_id="bench-economy-after")

    def _table(self, name: str) -> str:
        return name.removeprefix(self.prefix)

    def before(self, params, model, **_):
        if not self.recording:
            return
        tables, written = [], 0
        if "TableName" in params:
            tables = [self._table(params["TableName"])]
        if "RequestItems" in params:
            tables = [self._table(t) for t in params["RequestItems"]]
            if model.name == "BatchWriteItem":
                written = sum(len(v) for v in params["RequestItems"].values())
        if "TransactItems" in params:
            written = len(params["TransactItems"])
            tables = sorted({self._table(op["TableName"]) for item in params["TransactItems"] for op in item.values()})
        if model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            written = 1
        keys = None
        if model.name == "BatchGetItem":
            keys = sum(len(v["Keys"]) for v in params["RequestItems"].values())
        self.calls.append({
            "op": model.name, "tables": tables, "index": params.get("IndexName"), "limit": params.get("Limit"),
            "keys": keys, "read": 0, "returned": 0, "read_by_table": {}, "written": written,
        })

    def after(self, parsed, model, **_):
        if not self.recording or not self.calls:
            return
        call = self.calls[-1]
        if model.name in ("Query", "Scan"):
            call["read"] = parsed.get("ScannedCount", 0)
            call["returned"] = parsed.get("Count", 0)
            call["read_by_table"] = {call["tables"][0]: call["read"]}
        elif model.name == "GetItem":
            call["read"] = call["returned"] = 1 if "Item" in parsed else 0
            call["read_by_table"] = {call["tables"][0]: call["read"]}
        elif model.name in ("BatchGetItem", "TransactGetItems"):
            responses = parsed.get("Responses", {})
            if isinstance(responses, dict):
                by_table = {self._table(t): len(items) for t, items in responses.items()}
            else:
                by_table = {"(transaction)": sum(1 for r in responses if r.get("Item"))}
            call["read_by_table"] = by_table
            call["read"] = call["returned"] = sum(by_table.values())
        if "Error" in parsed:
            call["error"] = parsed["Error"].get("Code")


def summarise(calls: list[dict]) -> dict:
    ops = [c["op"] for c in calls]
    lead_items = sum(c["read_by_table"].get("leads", 0) for c in calls)
    return {
        "calls": len(calls),
        "operations": ops,
        "detail": [
            {k: v for k, v in c.items() if k in ("op", "tables", "index", "limit", "keys", "read", "returned", "written", "error")}
            for c in calls
        ],
        "items_read": sum(c["read"] for c in calls),
        "lead_items_read": lead_items,
        "items_written": sum(c["written"] for c in calls),
        "scans": ops.count("Scan"),
    }


# --- The child: Django in-process --------------------------------------------------------------------

def child(sizes: list[int], prefixes: list[str], out: str, timing_blocks: int, timing_repeats: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from leads import dynamodb

    STAFF_EMAIL = os.environ["LEADS_ADMIN_EMAIL"]
    STAFF_PASSWORD = os.environ["LEADS_ADMIN_PASSWORD"]
    origin = os.environ["LEADS_CORS_ORIGINS"].split(",")[0]

    recorders: dict[int, Recorder] = {}
    clients: dict[int, Client] = {}
    current = {"size": None}

    def use(size: int) -> Recorder:
        """Point the app at this size's tables (as the test suite's fixture does) and hook its client."""
        if current["size"] != size:
            settings.DYNAMODB_TABLE_PREFIX = prefixes[sizes.index(size)]
            dynamodb.configure()
            recorders[size].install(dynamodb.shared_connection().client)
            current["size"] = size
        return recorders[size]

    def measure(size: int, fn):
        recorder = use(size)
        recorder.calls = []
        recorder.recording = True
        started = time.perf_counter()
        try:
            result = fn()
        finally:
            recorder.recording = False
        elapsed = time.perf_counter() - started
        return result, summarise(recorder.calls), elapsed

    for size, prefix in zip(sizes, prefixes):
        recorders[size] = Recorder(prefix)
        clients[size] = Client(headers={"X-Forwarded-Proto": "https"})

    results: dict = {str(size): {} for size in sizes}
    signin: dict = {}
    targets: dict = {}

    def shown(response) -> int:
        return response.content.decode().count('name="ids" value="')

    # Sign in (once per size), then find the leads and links the pages will use.
    for size in sizes:
        client = clients[size]
        response, calls, _ = measure(size, lambda: client.post(
            "/admin/login/", {"email": STAFF_EMAIL, "password": STAFF_PASSWORD}))
        assert response.status_code == 302, response.content[:500]
        signin[str(size)] = calls
        use(size)
        page = client.get("/admin/leads/").content.decode()
        ids = re.findall(r'name="ids" value="([0-9a-f]{32})"', page)
        emails = re.findall(r'aria-label="Select lead from ([^"]+)"', page)
        nxt = re.search(r'href="\?([^"]*cursor=[^"]*)" rel="next"', page)
        targets[size] = {
            "lead": ids[0], "edit": ids[1], "delete": ids[2], "email": html.unescape(emails[0]),
            "next": html.unescape(nxt.group(1)) if nxt else None,
        }

    def page_fn(size: int, key: str):
        client, t = clients[size], targets[size]
        if key == "contact_get":
            return lambda: (client.get("/"), 0)
        if key == "inbox":
            return lambda: (r := client.get("/admin/leads/"), shown(r))
        if key == "inbox_next":
            return lambda: (r := client.get(f"/admin/leads/?{t['next']}"), shown(r))
        if key == "by_status":
            return lambda: (r := client.get(f"/admin/leads/?status={STATUS}"), shown(r))
        if key == "by_email":
            return lambda: (r := client.get("/admin/leads/", {"q": t["email"]}), shown(r))
        if key == "by_domain":
            return lambda: (r := client.get("/admin/leads/", {"q": "@" + DOMAIN}), shown(r))
        if key == "lead":
            return lambda: (client.get(f"/admin/leads/{t['lead']}/"), 1)
        if key == "dashboard":
            return lambda: (client.get("/admin/"), 0)
        raise KeyError(key)

    def check(response, expected=(200,)):
        if response.status_code not in expected:
            raise RuntimeError(f"{response.status_code}: {response.content[:800]!r}")

    # Read pages: calls and items, size by size.
    for key in READ_PAGES:
        for size in sizes:
            (response, n_shown), calls, _ = measure(size, page_fn(size, key))
            check(response)
            results[str(size)][key] = {**calls, "shown": n_shown, "status": response.status_code}

    # Export: stream the first EXPORT_ROWS rows (the whole table when it is smaller).
    for size in sizes:
        client = clients[size]

        def export():
            response = client.get("/admin/leads/export.csv")
            check(response)
            rows = -1  # the header
            for _chunk in response.streaming_content:
                rows += 1
                if rows >= EXPORT_ROWS:
                    break
            response.close()
            return response, rows

        (response, rows), calls, _ = measure(size, export)
        results[str(size)]["export"] = {**calls, "shown": rows, "status": response.status_code}

    # Writes, each once per size: an edit, a delete (confirm, then do it), two contact posts.
    for size in sizes:
        client, t = clients[size], targets[size]
        use(size)
        detail = client.get(f"/admin/leads/{t['edit']}/").content.decode()
        version = re.search(r'name="version" value="(\d+)"', detail).group(1)
        current_status = re.search(r'<option value="(\w+)" selected>', detail).group(1)
        new_status = "contacted" if current_status != "contacted" else "qualified"
        response, calls, _ = measure(size, lambda: client.post(
            f"/admin/leads/{t['edit']}/", {"status": new_status, "owner": "", "notes": "Called.", "version": version}))
        check(response, (302,))
        results[str(size)]["edit_save"] = {**calls, "shown": 0, "status": response.status_code}

        response, calls, _ = measure(size, lambda: client.get(f"/admin/leads/{t['delete']}/delete/"))
        check(response)
        results[str(size)]["delete_confirm"] = {**calls, "shown": 1, "status": response.status_code}
        response, calls, _ = measure(size, lambda: client.post(f"/admin/leads/{t['delete']}/delete/"))
        check(response, (302,))
        results[str(size)]["delete"] = {**calls, "shown": 0, "status": response.status_code}

        visitor = Client(headers={"X-Forwarded-Proto": "https"})
        form = visitor.get("/").content.decode()
        token = re.search(r'name="token" value="([^"]+)"', form).group(1)
        response, calls, _ = measure(size, lambda: visitor.post("/", {
            "token": token, "name": "Ada Lovelace", "email": f"ada-{uuid.uuid4().hex[:8]}@economy.example",
            "company": "", "subject": "Pricing", "message": "Hello from the economy benchmark."}))
        check(response, (302,))
        results[str(size)]["contact_submit"] = {**calls, "shown": 0, "status": response.status_code}

        body = {"name": "Grace Hopper", "email": f"grace-{uuid.uuid4().hex[:8]}@economy.example",
                "subject": "Demo", "message": "Posted as JSON."}
        response, calls, _ = measure(size, lambda: visitor.post(
            "/", json.dumps(body), content_type="application/json",
            headers={"Origin": origin, "Idempotency-Key": uuid.uuid4().hex}))
        check(response, (201,))
        results[str(size)]["contact_json"] = {**calls, "shown": 0, "status": response.status_code}

    # In-process latency of the read pages at each size, in blocks (switching tables needs a new client).
    timings: dict = {str(size): {key: [] for key in READ_PAGES} for size in sizes}
    for _block in range(timing_blocks):
        for size in sizes:
            use(size)
            for key in READ_PAGES:
                fn = page_fn(size, key)
                fn()  # warm (connection pool, template cache)
                for _ in range(timing_repeats):
                    started = time.perf_counter()
                    fn()
                    timings[str(size)][key].append((time.perf_counter() - started) * 1000)
    latency = {size: {key: statistics.median(v) for key, v in pages.items()} for size, pages in timings.items()}

    with open(out, "w") as fh:
        json.dump({"sizes": sizes, "pages": results, "signin": signin, "latency_ms": latency,
                   "export_rows": EXPORT_ROWS, "status_filter": STATUS, "domain": DOMAIN}, fh, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--sizes", required=True, help="comma-separated lead counts")
    parser.add_argument("--prefixes", required=True, help="comma-separated table prefixes, one per size")
    parser.add_argument("--timing-blocks", type=int, default=3)
    parser.add_argument("--timing-repeats", type=int, default=5)
    args = parser.parse_args(argv)
    child([int(s) for s in args.sizes.split(",")], args.prefixes.split(","), args.out,
          args.timing_blocks, args.timing_repeats)


if __name__ == "__main__":
    sys.exit(main())
