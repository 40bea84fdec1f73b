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
    """Total import time, the heaviest imports a few levels down, and cost by top-level package (self time)."""
    rows = [{"self_us": int(m[1]), "cumulative_us": int(m[2]), "depth": len(m[3]) // 2, "module": m[4]}
            for m in re.finditer(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", text, re.M)]
    by_package: dict[str, int] = defaultdict(int)
    for r in rows:
        by_package[r["module"].partition(".")[0]] += r["self_us"]
    by_cumulative = sorted(rows, key=lambda r: -r["cumulative_us"])
    return {
        "total_ms": sum(r["self_us"] for r in rows) / 1000, "modules": len(rows),
        "top_level": [{"module": r["module"], "ms": r["cumulative_us"] / 1000} for r in by_cumulative if r["depth"] == 0][:15],
        # Depth 0 is the WSGI module itself (everything): the heaviest imports are one to three levels down.
        "heaviest": [{"module": r["module"], "depth": r["depth"], "ms": r["cumulative_us"] / 1000}
                     for r in by_cumulative if 1 <= r["depth"] <= 3][:25],
        "by_package_ms": dict(sorted(((k, v / 1000) for k, v in by_package.items()), key=lambda kv: -kv[1])),
    }


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
    floor_packages = profiles["floor"]["by_package_ms"]
    extra = {k: v - floor_packages.get(k, 0) for k, v in profiles["app"]["by_package_ms"].items()}
    total = lambda v: summary[v]["total_ms"]  # noqa: E731
    return {
        "rounds": rounds, "variants": summary, "app_vs_floor": ratio(total("app"), total("floor")),
        "app_inbox_vs_floor_inbox": ratio(total("app_inbox"), total("floor_inbox")),
        "floor_vs_django": ratio(total("floor"), total("django")), "profiles": profiles,
        "app_extra_import_ms_by_package": dict(sorted(((k, v) for k, v in extra.items() if v > 1), key=lambda kv: -kv[1])),
    }
