"""What is measured in fresh processes, app vs floor: 3. cold start, CPU per request, and 5. export."""
# `python bench/fresh.py VARIANT` is one cold start, run as a script so nothing of bench is imported before the app;
# `python -m bench.fresh cpu app|floor N` serves each page N times (BENCH_CPROFILE=DIR dumps one .prof a side and
# page); `python -m bench.fresh export app|floor ROWS` writes the CSV of ROWS leads.
import json
import os
import sys
import time
from wsgiref.util import setup_testing_defaults

if __package__:  # the parent, or the CPU or export child; a cold start imports only the modules above
    import contextlib
    import cProfile
    import csv
    import hashlib
    import itertools
    import re
    from collections import defaultdict

    from .common import (
        BENCH, HTTPS, PAGES, SESSION_COOKIE, child_json, cold_starts, contact_json, django_client, interleaved, median,
        python, ratio, summary, vm_kb,
    )

FLOOR = "bench.baseline.settings"
VARIANTS = {  # variant: settings module, path, label; "django" serves the ceiling alone, without PynamoDB
    "python": (None, None, "python (interpreter only)"),
    "django": (FLOOR, "/ceiling/", "plain Django, template, no data"),
    "floor": (FLOOR, "/floor/healthz", "plain Django + one bare PynamoDB GetItem"),
    "app": ("leadsite.settings", "/healthz", "**app**: import leadsite.wsgi + /healthz (one GetItem)"),
    "floor_inbox": (FLOOR, "/floor/leads/", "floor inbox (session + counters + Query)"),
    "app_inbox": ("leadsite.settings", "/admin/leads/", "**app** inbox, signed in (same 3 calls)"),
}
# Nothing of these may be imported by the app in production (the baseline lives in bench: it may import that).
FORBIDDEN = {"moto", "tests", "pytest", "flask", "werkzeug", "responses", "bench"}


def cold_start(variant: str) -> dict:
    """Import the WSGI application and serve one request through it, no server; when each was done."""
    settings_module, path, _ = VARIANTS[variant]
    if settings_module is None:
        return {"t_imported": time.time(), "t_served": time.time(), "status": 0, "forbidden": []}
    os.environ.update(DJANGO_SETTINGS_MODULE=settings_module, BENCH_CEILING_ONLY="1" if variant == "django" else "")
    if variant.startswith("app"):
        from leadsite.wsgi import application
    else:  # the baseline project, as its gunicorn serves it
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
    t_imported, status = time.time(), []
    environ = {"PATH_INFO": path, "QUERY_STRING": "", "HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_COOKIE": f"leads_session={os.environ.get('BENCH_SESSION', '')}"}
    setup_testing_defaults(environ)  # a GET to 127.0.0.1, with the wsgi.* keys
    body = application(environ, lambda s, headers, exc_info=None: status.append(s))
    sum(len(chunk) for chunk in body)  # the whole response, as a client would read it
    body.close()
    imported = {name.partition(".")[0] for name in sys.modules}
    forbidden = imported & (FORBIDDEN if variant.startswith("app") else FORBIDDEN - {"bench"})
    return {"t_imported": t_imported, "t_served": time.time(), "status": int(status[0].split()[0]),
            "modules": len(sys.modules), "forbidden": sorted(forbidden)}


def spawn(variant: str, env: dict, *, importtime: bool = False) -> dict:
    started = time.time()
    out = python([*(["-X", "importtime"] if importtime else []), str(BENCH / "fresh.py"), variant], env, timeout=120)
    result = {**json.loads(out.stdout.splitlines()[-1]), "stderr": out.stderr if importtime else ""}
    if result["status"] not in (0, 200):
        raise RuntimeError(f"cold start {variant}: HTTP {result['status']}")
    return {**result, "total_ms": (result["t_served"] - started) * 1000,
            "import_ms": (result["t_imported"] - started) * 1000,
            "first_request_ms": (result["t_served"] - result["t_imported"]) * 1000}


def import_profile(text: str) -> dict:
    """Import time in all, the heaviest imports one to three levels below the WSGI module, self time by package."""
    rows = [(int(m[1]) / 1000, int(m[2]) / 1000, len(m[3]) // 2, m[4])  # self ms, cumulative ms, depth, module
            for m in re.finditer(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", text, re.M)]
    by_package: dict[str, float] = defaultdict(float)
    for self_ms, _, _, module in rows:
        by_package[module.partition(".")[0]] += self_ms
    return {"total_ms": sum(row[0] for row in rows), "modules": len(rows),
            "heaviest": [{"module": module, "depth": depth, "ms": ms}
                         for _, ms, depth, module in sorted(rows, key=lambda row: -row[1]) if 1 <= depth <= 3][:25],
            "by_package_ms": dict(sorted(by_package.items(), key=lambda kv: -kv[1]))}


def coldstart(envs: dict, mode: dict) -> dict:
    """Every variant from spawn to response in interleaved rounds, medians; the import profiles of app and floor."""
    env = {variant: envs["app" if variant.startswith("app") else "floor"] for variant in VARIANTS}
    variants = cold_starts(VARIANTS, lambda v: spawn(v, env[v]), mode["coldstart_rounds"],
                           ("total_ms", "import_ms", "first_request_ms"))
    profiles = {v: import_profile(spawn(v, env[v], importtime=True)["stderr"]) for v in ("app", "floor")}
    extra = {k: v - profiles["floor"]["by_package_ms"].get(k, 0) for k, v in profiles["app"]["by_package_ms"].items()}
    total = {variant: figures["total_ms"] for variant, figures in variants.items()}
    return {"rounds": mode["coldstart_rounds"], "variants": variants, "profiles": profiles,
            "app_vs_floor": ratio(total["app"], total["floor"]),
            "floor_vs_django": ratio(total["floor"], total["django"]),
            "app_inbox_vs_floor_inbox": ratio(total["app_inbox"], total["floor_inbox"]),
            "app_extra_import_ms_by_package": dict(sorted(((k, v) for k, v in extra.items() if v > 1),
                                                          key=lambda kv: -kv[1]))}


def child(kind: str, side: str, count: int, env: dict) -> dict:
    return child_json(["-m", "bench.fresh", kind, side, str(count)], env)


# The pages whose CPU a request is compared: label, the app's and the floor's path, and how they are asked.
# {lead}: the lead page's lead; {email}: its address; {edit}: a lead saved over and over (status back and forth).
CPU_PAGES = {
    "inbox": ("inbox", "/admin/leads/", "/floor/leads/", "get"),
    "by_status": ("inbox ?status=new", "/admin/leads/?status=new", "/floor/leads/?status=new", "get"),
    "search": ("search by email", "/admin/leads/?q={email}", "/floor/leads/?email={email}", "get"),
    "lead": ("lead page", "/admin/leads/{lead}/", "/floor/leads/{lead}/", "get"),
    "edit_save": ("lead edit save (POST)", "/admin/leads/{edit}/", "/floor/leads/{edit}/edit/", "edit"),
    "contact_get": ("contact form (GET /)", "/", "/floor/contact/", "get"),
    "contact_form": ("contact form POST (HTML)", "/", "/floor/contact/", "form"),
    "contact_post": ("contact form POST (JSON)", "/", "/floor/contact/", "json"),
}
LAYER_PAGES = ("inbox", "lead")  # the pages split by layer (bench/layers.py)


def page_requests(side: str, client) -> dict:
    """page: a function making one request of it (checking the answer), for this side."""
    from urllib.parse import quote

    if side == "app":
        from leads.public.tokens import new_token
        from leads.storage.models import Lead
    else:
        from bench.baseline.models import Lead
        new_token = str  # the floor takes no token
    lead_id, edit_id = os.environ["BENCH_LEAD"], os.environ["BENCH_EDIT_LEAD"]
    targets = {"lead": lead_id, "edit": edit_id, "email": quote(Lead.get(lead_id).email)}
    edited = Lead.get(edit_id, consistent_read=True)
    versions = itertools.count(edited.version)  # each save is a change (another status), so each adds one
    statuses = itertools.cycle(("qualified", "contacted") if edited.status == "contacted" else ("contacted", "qualified"))

    def request(kind: str, path: str):
        def get():
            return client.get(path), 200

        def edit():  # the same lead, saved with the version it has, status back and forth
            return client.post(path, {"status": next(statuses), "owner": "", "notes": "", "version": next(versions)}), 302

        def form():  # a new lead each time, as a visitor's browser posts it
            return client.post(path, {"token": new_token(), "name": "Bench Visitor", "email": "visitor@bench.example",
                                      "company": "", "subject": "Benchmark", "message": "One new lead a request.",
                                      "website": ""}), 302

        def json_post():  # a new lead each time
            body, headers = contact_json()
            return client.post(path, body, content_type="application/json", headers=headers), 201

        def once(make={"get": get, "edit": edit, "form": form, "json": json_post}[kind]):
            response, expected = make()
            assert response.status_code == expected, (path, response.status_code, response.content[:300])
        return once

    return {page: request(kind, (floor if side == "floor" else app).format(**targets))
            for page, (_label, app, floor, kind) in CPU_PAGES.items()}


def cpu_child(side: str, requests_each: int) -> dict:
    """CPU ms (and wall ms) a request of each page, after 20 to warm the connection pool and template cache;
    then the CPU of LAYER_PAGES by layer, in a second pass (its wrappers cost a little themselves)."""
    from .layers import LayerClock

    client, dump, report = django_client(os.environ["BENCH_SESSION"]), os.environ.get("BENCH_CPROFILE"), {}
    requests = page_requests(side, client)
    for page, once in requests.items():
        for _ in range(20):
            once()
        profiler = cProfile.Profile(time.process_time) if dump else None  # CPU, as the figures: not the wait for DynamoDB
        cpu, wall = time.process_time(), time.perf_counter()
        with profiler or contextlib.nullcontext():  # a Profile enables itself inside `with`
            for _ in range(requests_each):
                once()
        report[page] = {"cpu_ms": (time.process_time() - cpu) * 1000 / requests_each,
                        "wall_ms": (time.perf_counter() - wall) * 1000 / requests_each}
        if profiler:
            profiler.dump_stats(os.path.join(dump, f"{side}-{page}.prof"))
    clock = LayerClock()
    clock.install()
    client.handler.load_middleware()  # the middleware chain holds the handler's methods: rebuild it on the wrapped ones
    for page in LAYER_PAGES:
        report[page]["layers_ms"] = clock.measure(requests[page], requests_each)
    return {"pages": report, "gc": full_collections()}


def full_collections() -> dict:
    """CPU ms of one full garbage collection of this warm process, as it runs (the app freezes its heap after its
    first response: leads.web.heap) and with nothing frozen."""
    import gc

    def collect_ms() -> float:
        started = time.process_time()
        gc.collect()
        return (time.process_time() - started) * 1000

    frozen = gc.get_freeze_count()
    as_run = collect_ms()
    gc.unfreeze()
    return {"frozen_objects": frozen, "full_ms": as_run, "unfrozen_full_ms": collect_ms()}


def cpu_per_request(envs: dict, mode: dict) -> dict:
    """CPU ms a request of each page, app vs floor, medians over interleaved rounds (DynamoDB Local's CPU excluded)."""
    envs, count = {**envs, "app": {**envs["app"], "LEADS_RATELIMIT_DISABLED": "1"}}, mode["cpu_requests"]
    children = interleaved(mode["cpu_rounds"], envs, lambda _, side, __: child("cpu", side, count, envs[side]))[None]
    runs = {side: [run["pages"] for run in side_runs] for side, side_runs in children.items()}
    result = {side: summary([{page: run[page]["cpu_ms"] for page in CPU_PAGES} for run in side_runs],
                            medians=CPU_PAGES) for side, side_runs in runs.items()}
    layers = {side: {page: {layer: median([run[page]["layers_ms"][layer] for run in side_runs])
                            for layer in side_runs[0][page]["layers_ms"]} for page in LAYER_PAGES}
              for side, side_runs in runs.items()}
    collections = {side: {key: median([run["gc"][key] for run in side_runs]) for key in side_runs[0]["gc"]}
                   for side, side_runs in children.items()}
    return {**result, "ratio": {page: ratio(result["app"][page], result["floor"][page]) for page in CPU_PAGES},
            "labels": {page: spec[0] for page, spec in CPU_PAGES.items()}, "layers": layers, "gc": collections,
            "rounds": mode["cpu_rounds"], "requests_each": count}


# 5. Export: the app's CSV vs a bare PynamoDB loop writing the same CSV.
COLUMNS = ["lead_id", "created_at", "name", "email", "company", "subject", "message", "status", "owner", "notes",
           "updated_at", "consent_version", "consent_at", "consent_text"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # cells a spreadsheet would run: the app prefixes them with '
CHUNK = 100


class Sink:
    """Where the CSV goes: counted (a write a row, both sides), hashed, then dropped."""

    def __init__(self):
        self.writes, self.bytes, self.hash = 0, 0, hashlib.sha256()

    def write(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.writes, self.bytes = self.writes + 1, self.bytes + len(data)
        self.hash.update(data)


def app_export(rows: int, sink: Sink) -> None:
    response = django_client(os.environ["BENCH_SESSION"]).get("/admin/leads/export.csv")
    assert response.status_code == 200, f"export: HTTP {response.status_code}"
    for chunk in itertools.islice(response.streaming_content, rows + 1):  # the header, then a chunk a row; never held
        sink.write(chunk)
    response.close()


def floor_export(rows: int, sink: Sink) -> None:
    from datetime import UTC, datetime

    from bench.baseline.models import Lead

    def cell(name: str, value) -> str:
        if name in ("created_at", "updated_at", "consent_at") and value is not None:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).isoformat()
        return "" if value is None else ("'" + value if value.startswith(FORMULA_START) else value)

    writer, done = csv.writer(sink), 0
    writer.writerow(["id", *COLUMNS[1:], "time_zone"])  # the bench's staff has no zone of its own: UTC
    keys = (item.lead_id for item in Lead.created_index.query("all", scan_index_forward=False, page_size=CHUNK))
    while done < rows and (chunk := list(itertools.islice(keys, CHUNK))):  # a BatchGetItem per index page, as the app
        found = {lead.lead_id: lead for lead in Lead.batch_get(chunk)}
        for lead in list(filter(None, map(found.get, chunk)))[:rows - done]:
            writer.writerow([cell(name, getattr(lead, name)) for name in COLUMNS] + ["UTC"])
            done += 1


def export_child(side: str, rows: int) -> dict:
    sink, started = Sink(), time.perf_counter()
    (app_export if side == "app" else floor_export)(rows, sink)
    seconds, done = time.perf_counter() - started, sink.writes - 1  # less the header
    return {"kind": side, "rows": done, "seconds": seconds, "rows_per_s": done / seconds if seconds else None,
            "bytes": sink.bytes, "sha256": sink.hash.hexdigest(), "hwm_mb": vm_kb(os.getpid(), "VmHWM") / 1024}


def export(envs: dict, mode: dict) -> dict:
    """A small export of each (memory before it grows, the same CSV?), then full ones in alternating order."""
    rows = mode["sizes"][1]
    small = {side: child("export", side, min(1000, max(10, rows // 10)), env) for side, env in envs.items()}
    full = interleaved(mode["export_rounds"], envs, lambda _, side, __: child("export", side, rows, envs[side]))[None]
    result = {side: {"rows": runs[0]["rows"], **summary(runs, medians=("rows_per_s", "seconds")),
                     "hwm_mb_full": median([r["hwm_mb"] for r in runs]), "hwm_mb_small": small[side]["hwm_mb"],
                     "small_rows": small[side]["rows"]} for side, runs in full.items()}
    for figures in result.values():
        figures["hwm_growth_mb"] = figures["hwm_mb_full"] - figures["hwm_mb_small"]
    return {"rounds": mode["export_rounds"], **result, "same_csv": small["app"]["sha256"] == small["floor"]["sha256"],
            "rows_per_s_vs_floor": ratio(result["app"]["rows_per_s"], result["floor"]["rows_per_s"])}


def over_http(server, session: str) -> dict:
    """The same export through gunicorn (context only): rows/s as a client sees them, the worker's memory growth."""
    import requests  # here, not at the top: the children are measured without it

    before, started, lines, size = server.worker_memory()["peak_hwm_mb"] or 0, time.perf_counter(), 0, 0
    with requests.get(f"{server.url}/admin/leads/export.csv", headers=HTTPS, cookies={SESSION_COOKIE: session},
                      stream=True, timeout=1800) as response:
        response.raise_for_status()
        for block in response.iter_content(65536):
            size, lines = size + len(block), lines + block.count(b"\n")
    seconds = time.perf_counter() - started
    return {"rows": lines - 1, "seconds": seconds, "rows_per_s": (lines - 1) / seconds, "bytes": size,
            "worker_hwm_growth_mb": (server.worker_memory()["peak_hwm_mb"] or 0) - before}


if __name__ == "__main__":
    run_child = {"cpu": cpu_child, "export": export_child}.get(sys.argv[1])
    print(json.dumps(run_child(sys.argv[2], int(sys.argv[3])) if run_child else cold_start(sys.argv[1])))
