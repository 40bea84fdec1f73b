"""Fresh processes, app vs floor: 3. cold start, and CPU per request.

`python bench/fresh.py VARIANT` is one cold start, run as a script so nothing of bench is imported before the app;
`python -m bench.fresh cpu app|floor N` serves each page N times (BENCH_CPROFILE=DIR dumps one .prof a side and page).
"""
import io
import json
import os
import sys
import time

if __package__:  # the parent, or the CPU child; a cold start imports only the modules above (as Python itself does)
    import contextlib
    import cProfile
    import re
    from collections import defaultdict

    from .common import BENCH, PAGES, child_json, contact_json, django_client, interleaved, median, python, ratio

VARIANTS = {  # variant: (settings module, path); "django" serves the ceiling alone, without PynamoDB
    "python": (None, None), "django": ("bench.baseline.settings", "/ceiling/"),
    "floor": ("bench.baseline.settings", "/floor/healthz"), "app": ("leadsite.settings", "/healthz"),
    "floor_inbox": ("bench.baseline.settings", "/floor/leads/"), "app_inbox": ("leadsite.settings", "/admin/leads/"),
}
# Nothing of these may be imported by the app in production (the baseline lives in bench: it may import that).
FORBIDDEN = {"moto", "tests", "pytest", "flask", "werkzeug", "responses", "bench"}


def cold_start(variant: str) -> dict:
    """Import the WSGI application and serve one request through it, no server; when each was done."""
    settings_module, path = VARIANTS[variant]
    if settings_module is None:
        return {"t_imported": time.time(), "t_served": time.time(), "status": 0}
    os.environ.update(DJANGO_SETTINGS_MODULE=settings_module, BENCH_CEILING_ONLY="1" if variant == "django" else "")
    if variant.startswith("app"):
        from leadsite.wsgi import application
    else:  # the baseline project, as its gunicorn serves it
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
    t_imported, status = time.time(), []
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_COOKIE": f"leads_session={os.environ.get('BENCH_SESSION', '')}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    body = application(environ, lambda s, headers, exc_info=None: status.append(s))
    sum(len(chunk) for chunk in body)  # the whole response, as a client would read it
    body.close()
    forbidden = FORBIDDEN if variant.startswith("app") else FORBIDDEN - {"bench"}
    return {"t_imported": t_imported, "t_served": time.time(), "status": int(status[0].split()[0]),
            "modules": len(sys.modules), "forbidden": sorted({name.partition(".")[0] for name in sys.modules} & forbidden)}


def spawn(variant: str, env: dict, *, importtime: bool = False) -> dict:
    started = time.time()
    out = python([*(["-X", "importtime"] if importtime else []), str(BENCH / "fresh.py"), variant], env, timeout=120)
    result = {**json.loads(out.stdout.splitlines()[-1]), "stderr": out.stderr if importtime else ""}
    if result["status"] not in (0, 200):
        raise RuntimeError(f"cold start {variant}: HTTP {result['status']}")
    return {**result, "total_ms": (result["t_served"] - started) * 1000, "import_ms": (result["t_imported"] - started) * 1000,
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


def coldstart(*, app_env: dict, baseline_env: dict, session: str, rounds: int) -> dict:
    envs = {v: {**(app_env if v.startswith("app") else baseline_env), "BENCH_SESSION": session} for v in VARIANTS}
    for variant in VARIANTS:  # warm-up: bytecode caches, page cache
        spawn(variant, envs[variant])
    runs = interleaved(rounds, VARIANTS, lambda _, variant, __: spawn(variant, envs[variant]))[None]
    summary = {v: {**{k: median([r[k] for r in rs]) for k in ("total_ms", "import_ms", "first_request_ms")},
                   "modules": rs[0].get("modules"), "forbidden": sorted({n for r in rs for n in r.get("forbidden", [])})}
               for v, rs in runs.items()}
    profiles = {v: import_profile(spawn(v, envs[v], importtime=True)["stderr"]) for v in ("app", "floor")}
    extra = {k: v - profiles["floor"]["by_package_ms"].get(k, 0) for k, v in profiles["app"]["by_package_ms"].items()}
    total = lambda v: summary[v]["total_ms"]  # noqa: E731
    return {"rounds": rounds, "variants": summary, "profiles": profiles, "app_vs_floor": ratio(total("app"), total("floor")),
            "app_inbox_vs_floor_inbox": ratio(total("app_inbox"), total("floor_inbox")),
            "floor_vs_django": ratio(total("floor"), total("django")),
            "app_extra_import_ms_by_package": dict(sorted(((k, v) for k, v in extra.items() if v > 1), key=lambda kv: -kv[1]))}


def cpu_child(side: str, requests_each: int) -> dict:
    """CPU ms (and wall ms) a request of each page, after 20 to warm the connection pool and template cache."""
    client, dump, report = django_client(os.environ["BENCH_SESSION"]), os.environ.get("BENCH_CPROFILE"), {}
    for page, (_label, app_path, floor_path, _ceiling) in PAGES.items():
        path = (floor_path if side == "floor" else app_path).format(lead=os.environ["BENCH_LEAD"])

        def once():
            if page == "contact_post":
                body, headers = contact_json()
                response = client.post(path, body, content_type="application/json", headers=headers)
            else:
                response = client.get(path)
            assert response.status_code == (201 if page == "contact_post" else 200), response.content[:300]

        for _ in range(20):
            once()
        profiler = cProfile.Profile() if dump else None
        cpu, wall = time.process_time(), time.perf_counter()
        with profiler or contextlib.nullcontext():  # a Profile enables itself inside `with`
            for _ in range(requests_each):
                once()
        report[page] = {"cpu_ms": (time.process_time() - cpu) * 1000 / requests_each,
                        "wall_ms": (time.perf_counter() - wall) * 1000 / requests_each}
        if profiler:
            profiler.dump_stats(os.path.join(dump, f"{side}-{page}.prof"))
    return report


def cpu_per_request(*, app_env: dict, baseline_env: dict, session: str, lead: str, rounds: int, requests_each: int) -> dict:
    """CPU ms a request of each page, app vs floor, medians over interleaved rounds (DynamoDB Local's CPU excluded)."""
    sides = {side: {**env, "BENCH_SESSION": session, "BENCH_LEAD": lead}
             for side, env in (("app", app_env), ("floor", baseline_env))}
    runs = interleaved(rounds, sides, lambda _, side, __: child_json(
        ["-m", "bench.fresh", "cpu", side, str(requests_each)], sides[side]))[None]
    result = {side: {page: median([run[page]["cpu_ms"] for run in side_runs]) for page in PAGES}
              for side, side_runs in runs.items()}
    return {**result, "ratio": {page: ratio(result["app"][page], result["floor"][page]) for page in PAGES},
            "rounds": rounds, "requests_each": requests_each}


if __name__ == "__main__":
    print(json.dumps(cpu_child(sys.argv[2], int(sys.argv[3])) if sys.argv[1] == "cpu" else cold_start(sys.argv[1])))
