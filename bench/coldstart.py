"""3. Cold start: what Lambda pays before the first response, as a fresh process.

Each variant is a new interpreter (bench/coldstart_child.py) that imports a WSGI application and
serves one request through it, without a server in between:

    python        the interpreter alone
    django        plain Django rendering the baseline template (nothing of PynamoDB imported)
    floor         plain Django + one bare PynamoDB GetItem (the budget's reference)
    app           leadsite.wsgi serving /healthz (one GetItem on the lead table, like the floor)
    floor_inbox   the floor's inbox: session GetItem + BatchGetItem + Query
    app_inbox     the app's inbox (/admin/leads/, signed in): the same three calls

Variants run interleaved in a rotating order, after one warm-up each (bytecode caches written);
medians over the rounds. Then a ``python -X importtime`` profile of the app and of the floor.
"""
import json
import re
import subprocess
import time
from collections import defaultdict

from .common import BENCH, PYTHON, ROOT, median, ratio

CHILD = str(BENCH / "coldstart_child.py")
VARIANTS = ("python", "django", "floor", "app", "floor_inbox", "app_inbox")


def spawn(variant: str, env: dict, *, importtime: bool = False) -> dict:
    command = [PYTHON, *(["-X", "importtime"] if importtime else []), CHILD, variant]
    started = time.time()
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"cold start {variant} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["total_ms"] = (result["t_served"] - started) * 1000
    result["import_ms"] = (result["t_imported"] - started) * 1000
    result["first_request_ms"] = (result["t_served"] - result["t_imported"]) * 1000
    if importtime:
        result["importtime"] = out.stderr
    return result


def parse_importtime(text: str) -> list[dict]:
    """`import time: self | cumulative | name` lines, with their nesting depth."""
    rows = []
    for line in text.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if found:
            rows.append({"self_us": int(found.group(1)), "cumulative_us": int(found.group(2)),
                         "depth": len(found.group(3)) // 2, "module": found.group(4)})
    return rows


def profile_summary(rows: list[dict]) -> dict:
    """Total import time, the heaviest top-level imports, and cost by top-level package (self time)."""
    top = sorted((r for r in rows if r["depth"] == 0), key=lambda r: -r["cumulative_us"])
    by_package: dict[str, int] = defaultdict(int)
    for r in rows:
        by_package[r["module"].partition(".")[0]] += r["self_us"]
    return {
        "total_ms": sum(r["self_us"] for r in rows) / 1000,
        "modules": len(rows),
        "top_level": [{"module": r["module"], "ms": r["cumulative_us"] / 1000} for r in top[:15]],
        # The heaviest imports a few levels down (depth 0 is the WSGI module itself: everything).
        "heaviest": [{"module": r["module"], "depth": r["depth"], "ms": r["cumulative_us"] / 1000}
                     for r in sorted((r for r in rows if 1 <= r["depth"] <= 3), key=lambda r: -r["cumulative_us"])[:25]],
        "by_package_ms": dict(sorted(((k, v / 1000) for k, v in by_package.items()), key=lambda kv: -kv[1])),
    }


def run(*, app_env: dict, baseline_env: dict, session: str, rounds: int) -> dict:
    envs = {v: {**(app_env if v.startswith("app") else baseline_env), "BENCH_SESSION": session} for v in VARIANTS}
    for variant in VARIANTS:  # warm-up: bytecode caches, page cache
        spawn(variant, envs[variant])
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for round_no in range(rounds):
        order = VARIANTS[round_no % len(VARIANTS):] + VARIANTS[:round_no % len(VARIANTS)]
        for variant in order:
            result = spawn(variant, envs[variant])
            if result["status"] not in (0, 200):
                raise RuntimeError(f"cold start {variant}: HTTP {result['status']}")
            runs[variant].append(result)
    summary = {
        v: {
            "total_ms": median([r["total_ms"] for r in rs]),
            "import_ms": median([r["import_ms"] for r in rs]),
            "first_request_ms": median([r["first_request_ms"] for r in rs]),
            "modules": rs[0].get("modules"),
            "forbidden": sorted({name for r in rs for name in r.get("forbidden", [])}),
        }
        for v, rs in runs.items()
    }
    profiles = {}
    for variant in ("app", "floor"):
        profiles[variant] = profile_summary(parse_importtime(spawn(variant, envs[variant], importtime=True)["importtime"]))
    app_pkgs, floor_pkgs = profiles["app"]["by_package_ms"], profiles["floor"]["by_package_ms"]
    extra = {k: v - floor_pkgs.get(k, 0) for k, v in app_pkgs.items() if v - floor_pkgs.get(k, 0) > 1}
    return {
        "rounds": rounds,
        "variants": summary,
        "app_vs_floor": ratio(summary["app"]["total_ms"], summary["floor"]["total_ms"]),
        "app_inbox_vs_floor_inbox": ratio(summary["app_inbox"]["total_ms"], summary["floor_inbox"]["total_ms"]),
        "floor_vs_django": ratio(summary["floor"]["total_ms"], summary["django"]["total_ms"]),
        "profiles": profiles,
        "app_extra_import_ms_by_package": dict(sorted(extra.items(), key=lambda kv: -kv[1])),
    }
