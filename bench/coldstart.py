"""3. Cold start: fresh interpreters import a WSGI app and serve one request; then `-X importtime` of app and floor."""
import re
import time
from collections import defaultdict

from .common import BENCH, child_json, median, ratio, rotated

VARIANTS = ("python", "django", "floor", "app", "floor_inbox", "app_inbox")


def spawn(variant: str, env: dict, *, importtime: bool = False) -> dict:
    started = time.time()
    result = child_json([*(["-X", "importtime"] if importtime else []), str(BENCH / "coldstart_child.py"), variant], env,
                        timeout=120, keep_stderr=importtime)
    if result["status"] not in (0, 200):
        raise RuntimeError(f"cold start {variant}: HTTP {result['status']}")
    return {**result, "total_ms": (result["t_served"] - started) * 1000, "import_ms": (result["t_imported"] - started) * 1000,
            "first_request_ms": (result["t_served"] - result["t_imported"]) * 1000}


def import_profile(text: str) -> dict:
    """Total import time, the heaviest imports one to three levels down (depth 0 is the WSGI module: everything), and
    the self time by top-level package."""
    rows = [(int(m[1]) / 1000, int(m[2]) / 1000, len(m[3]) // 2, m[4])  # self ms, cumulative ms, depth, module
            for m in re.finditer(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", text, re.M)]
    by_package: dict[str, float] = defaultdict(float)
    for self_ms, _, _, module in rows:
        by_package[module.partition(".")[0]] += self_ms
    return {"total_ms": sum(row[0] for row in rows), "modules": len(rows),
            "heaviest": [{"module": module, "depth": depth, "ms": ms}
                         for _, ms, depth, module in sorted(rows, key=lambda row: -row[1]) if 1 <= depth <= 3][:25],
            "by_package_ms": dict(sorted(by_package.items(), key=lambda kv: -kv[1]))}


def run(*, app_env: dict, baseline_env: dict, session: str, rounds: int) -> dict:
    envs = {v: {**(app_env if v.startswith("app") else baseline_env), "BENCH_SESSION": session} for v in VARIANTS}
    for variant in VARIANTS:  # warm-up: bytecode caches, page cache
        spawn(variant, envs[variant])
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for round_no in range(rounds):
        for variant in rotated(VARIANTS, round_no):
            runs[variant].append(spawn(variant, envs[variant]))
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
