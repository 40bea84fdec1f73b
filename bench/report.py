"""Write BENCHMARKS.md from a results dict (bench/results/latest.json): figures, ratios, budgets, verdicts."""
from pathlib import Path

from .common import BENCH
from .economy import ECONOMY_PAGES

FINDINGS = BENCH / "findings.md"

BUDGET = {
    "max_calls": 4,
    "list_read_per_shown": 1.0,
    "rps_vs_floor": 0.8,
    "p99_vs_floor": 1.25,
    "coldstart_vs_floor": 1.1,
    "memory_vs_floor": 1.2,
    "export_vs_floor": 0.8,
    "export_growth_mb": 5.0,
}


def f(value, digits=0, suffix=""):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{suffix}"
    return f"{value:,}{suffix}"


def x(value):
    return "–" if value is None else f"{value:.2f}×"


def verdict(ok) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- Budget checks, shared by the summary and the closing note -----------------------------------------

def economy_checks(economy: dict) -> dict:
    small, large = (str(s) for s in economy["sizes"])
    pages = economy["pages"]
    list_pages = [key for key, _, is_list in ECONOMY_PAGES if is_list]
    same_calls = {key: pages[small][key]["operations"] == pages[large][key]["operations"]
                  for key, _, _ in ECONOMY_PAGES if key != "export"}
    # Export: per 1,000 rows, the same pattern (Query + BatchGetItem per 100 rows) at both sizes.
    export_pattern = {
        size: pages[size]["export"]["operations"][1:3] == ["Query", "BatchGetItem"] for size in (small, large)
    }
    same_calls["export"] = all(export_pattern.values())
    max_calls = max((pages[s][key]["calls"], key) for s in (small, large) for key, _, _ in ECONOMY_PAGES
                    if key != "export")
    read_per_shown = {
        key: {s: (pages[s][key]["lead_items_read"] / pages[s][key]["shown"]) if pages[s][key]["shown"] else None
              for s in (small, large)}
        for key in list_pages
    }
    worst_read = max((v for r in read_per_shown.values() for v in r.values() if v is not None), default=None)
    # Identical items read at both sizes wherever both tables have as many matching leads to show.
    same_items = {key: pages[small][key]["items_read"] == pages[large][key]["items_read"] for key in same_calls
                  if key != "export"}
    scans = sum(pages[s][key]["scans"] for s in (small, large) for key in pages[s])
    # Items may differ only where the small table has fewer leads to show (same items read per item shown).
    explained = {
        key: same_items[key] or (pages[small][key]["shown"] != pages[large][key]["shown"]
                                 and read_per_shown.get(key, {}).get(small) == read_per_shown.get(key, {}).get(large))
        for key in same_items if key != "dashboard"
    }
    return {
        "same_calls": same_calls, "max_calls": max_calls, "read_per_shown": read_per_shown,
        "worst_read": worst_read, "same_items": same_items, "scans": scans,
        "items_ok": all(explained.values()),
        "items_differ": [k for k, v in same_items.items() if not v],
        "calls_ok": max_calls[0] <= BUDGET["max_calls"],
        "read_ok": worst_read is not None and worst_read <= BUDGET["list_read_per_shown"] + 1e-9,
        "same_ok": all(same_calls.values()),
    }


def load_checks(load: dict) -> dict:
    pages = load["pages"]
    worst_rps = min((p["rps_vs_floor"], key) for key, p in pages.items())
    worst_p99 = max((p["p99_vs_floor"], key) for key, p in pages.items())
    return {"worst_rps": worst_rps, "worst_p99": worst_p99,
            "rps_ok": worst_rps[0] >= BUDGET["rps_vs_floor"], "p99_ok": worst_p99[0] <= BUDGET["p99_vs_floor"]}


def missed(results: dict) -> list[str]:
    """One line per budget the run missed, with by how much."""
    out = []
    if "economy" in results:
        e = economy_checks(results["economy"])
        if not e["same_ok"]:
            out.append("economy: calls differ between sizes for " + ", ".join(k for k, v in e["same_calls"].items() if not v))
        if not e["calls_ok"]:
            out.append(f"economy: {e['max_calls'][1]} makes {e['max_calls'][0]} calls (budget {BUDGET['max_calls']})")
        if not e["read_ok"]:
            out.append(f"economy: a list page reads {e['worst_read']:.2f} items per item shown (budget 1.0)")
        if e["scans"]:
            out.append(f"economy: {e['scans']} Scan call(s) in request paths")
    if "load" in results:
        l = load_checks(results["load"])
        for key, p in results["load"]["pages"].items():
            if p["rps_vs_floor"] < BUDGET["rps_vs_floor"]:
                out.append(f"throughput: {p['label']} at {p['rps_vs_floor']:.2f}× the floor's requests/s "
                           f"(budget ≥ {BUDGET['rps_vs_floor']}×; short by {BUDGET['rps_vs_floor'] - p['rps_vs_floor']:.2f}×)")
            if p["p99_vs_floor"] > BUDGET["p99_vs_floor"]:
                out.append(f"latency: {p['label']} p99 at {p['p99_vs_floor']:.2f}× the floor's "
                           f"(budget ≤ {BUDGET['p99_vs_floor']}×; over by {p['p99_vs_floor'] - BUDGET['p99_vs_floor']:.2f}×)")
        del l
    if "memory" in results and results["memory"]["ratio"] and results["memory"]["ratio"] > BUDGET["memory_vs_floor"]:
        out.append(f"memory: worker peak RSS {results['memory']['ratio']:.2f}× the floor's (budget ≤ {BUDGET['memory_vs_floor']}×)")
    if "coldstart" in results:
        c = results["coldstart"]
        if c["app_vs_floor"] > BUDGET["coldstart_vs_floor"]:
            out.append(f"cold start: {c['app_vs_floor']:.2f}× the floor (budget ≤ {BUDGET['coldstart_vs_floor']}×)")
        if c["variants"]["app"]["forbidden"]:
            out.append("cold start: the app imports " + ", ".join(c["variants"]["app"]["forbidden"]))
    if "export" in results:
        ex = results["export"]
        if ex["rows_per_s_vs_floor"] < BUDGET["export_vs_floor"]:
            out.append(f"export: {ex['rows_per_s_vs_floor']:.2f}× the floor's rows/s (budget ≥ {BUDGET['export_vs_floor']}×)")
        if ex["app"]["hwm_growth_mb"] > BUDGET["export_growth_mb"]:
            out.append(f"export: peak memory grew {ex['app']['hwm_growth_mb']:.1f} MB from {ex['app']['small_rows']:,} "
                       f"to {ex['app']['rows']:,} rows")
        if not ex["same_csv"]:
            out.append("export: the app's CSV and the floor's differ")
    if "writes" in results:
        for size, r in results["writes"]["summary"]["after"].items():
            if r["refused_503_total"] or r["other_total"]:
                out.append(f"writes: {r['refused_503_total']} × 503 and {r['other_total']} other failures of "
                           f"{r['posted_total']} posts in bursts of {size} (budget: none)")
    return out


# --- Sections -------------------------------------------------------------------------------------------

def header(results: dict) -> str:
    meta = results["meta"]
    m = meta["machine"]
    small, large = meta["sizes"]
    quick = "\n\n> **Quick smoke run** (tiny sizes, one-second loads): the figures below are not benchmarks." if meta["quick"] else ""
    versions = table(["component", "version"], [["Python", m["python"]], *[[k, v] for k, v in m["versions"].items()]])
    return f"""# Benchmarks

Written by `{meta['command']}` (`bench/run.py`; `make bench` runs it without options) on {meta['date']},
app at commit `{meta.get('commit', '?')}`;
the whole run took {meta['elapsed_s'] / 60:.1f} min.
Every figure that matters is a **ratio** against a baseline measured in the same run, interleaved with it;
absolute times come from a shared machine (other jobs were running) and are context only.{quick}

**Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB RAM, Linux {m['kernel']}; load average at
start {', '.join(f'{v:.2f}' for v in m['loadavg_at_start'])}.
**Backend:** Amazon's DynamoDB Local, `-inMemory -sharedDb`, on loopback, one process for the whole run;
tables seeded with `manage.py seed_demo` at {small:,} and {large:,} leads.
**Baselines** (`bench/baseline/`, a separate minimal Django project served by the same `gunicorn.conf.py`):
(a) *ceiling* — a plain Django view rendering a template with 25 in-memory rows, no data access;
(b) *floor* — a plain Django view making the page's DynamoDB calls with bare PynamoDB models of the
same tables (one shared botocore client, as the app has), rendering the same template.

{versions}
"""


def summary(results: dict) -> str:
    rows = []
    if "economy" in results:
        e = economy_checks(results["economy"])
        rows.append(["1", "same calls at both table sizes, every page", "identical" if e["same_ok"] else
                     "differ: " + ", ".join(k for k, v in e["same_calls"].items() if not v), verdict(e["same_ok"])])
        differ = [dict((k, l) for k, l, _ in ECONOMY_PAGES)[k] for k in e["items_differ"]]
        rows.append(["1", "same items read at both sizes", "identical" if not differ else
                     "identical but " + ", ".join(differ) + " (fewer matching leads/counters at the small size; "
                     "same items per item shown)", verdict(e["items_ok"])])
        rows.append(["1", f"≤ {BUDGET['max_calls']} DynamoDB calls a page, session included",
                     f"max {e['max_calls'][0]} ({dict((k, l) for k, l, _ in ECONOMY_PAGES)[e['max_calls'][1]]})",
                     verdict(e["calls_ok"])])
        rows.append(["1", "list pages: lead items read ÷ shown = 1.0", f"max {e['worst_read']:.2f}", verdict(e["read_ok"])])
        rows.append(["1", "no Scan in any request", f"{e['scans']} Scan(s)", verdict(e["scans"] == 0)])
    if "load" in results:
        lc = load_checks(results["load"])
        label = {k: p["label"] for k, p in results["load"]["pages"].items()}
        rows.append(["2", f"requests/s ≥ {BUDGET['rps_vs_floor']}× floor, each page",
                     f"min {x(lc['worst_rps'][0])} ({label[lc['worst_rps'][1]]})", verdict(lc["rps_ok"])])
        rows.append(["2", f"p99 ≤ {BUDGET['p99_vs_floor']}× floor, each page",
                     f"max {x(lc['worst_p99'][0])} ({label[lc['worst_p99'][1]]})", verdict(lc["p99_ok"])])
    if "coldstart" in results:
        c = results["coldstart"]
        rows.append(["3", f"cold start ≤ {BUDGET['coldstart_vs_floor']}× Django + one bare GetItem",
                     f"{x(c['app_vs_floor'])} ({f(c['variants']['app']['total_ms'])} vs {f(c['variants']['floor']['total_ms'])} ms)",
                     verdict(c["app_vs_floor"] <= BUDGET["coldstart_vs_floor"])])
        bad = c["variants"]["app"]["forbidden"]
        rows.append(["3", "production never imports moto or test helpers", ", ".join(bad) if bad else "none imported",
                     verdict(not bad)])
    if "memory" in results and results["memory"]["ratio"]:
        r = results["memory"]["ratio"]
        rows.append(["4", f"worker peak RSS ≤ {BUDGET['memory_vs_floor']}× floor", f"{x(r)} ({f(results['memory']['app']['peak_hwm_mb'], 1)} vs "
                     f"{f(results['memory']['baseline']['peak_hwm_mb'], 1)} MB)", verdict(r <= BUDGET["memory_vs_floor"])])
    if "export" in results:
        ex = results["export"]
        rows.append(["5", f"export rows/s ≥ {BUDGET['export_vs_floor']}× bare PynamoDB loop", x(ex["rows_per_s_vs_floor"]),
                     verdict(ex["rows_per_s_vs_floor"] >= BUDGET["export_vs_floor"])])
        rows.append(["5", "export memory does not grow with rows",
                     f"{ex['app']['hwm_growth_mb']:+.1f} MB from {ex['app']['small_rows']:,} to {ex['app']['rows']:,} rows",
                     verdict(ex["app"]["hwm_growth_mb"] <= BUDGET["export_growth_mb"])])
    if "writes" in results:
        w = results["writes"]["summary"]
        top = str(max(results["writes"]["sizes"]))
        after, before = w["after"][top], w["before"][top]
        rows.append(["7", f"{top} visitors at once, conflicts as on AWS: 0 × 503",
                     f"{after['refused_503_total']} of {after['posted_total']} (before: {before['refused_503_total']})",
                     verdict(after["refused_503_total"] == 0 and after["other_total"] == 0)])
        rows.append(["7", "write ceiling, submissions/s (no budget)",
                     f"{f(after['submissions_per_s'], 1)} (before: {f(before['submissions_per_s'], 1)})", "–"])
    if "seed" in results:
        large = str(results["meta"]["sizes"][1])
        s = results["seed"][large]
        rows.append(["6", "seed_demo rate (no budget)", f"{f(s['leads_per_s'])} leads/s ({f(s['count'])} in {f(s['seconds'])} s)", "–"])
    return "## Budgets at a glance\n\n" + table(["#", "budget", "measured", "verdict"], rows) + "\n"


def economy_section(economy: dict) -> str:
    small, large = (str(s) for s in economy["sizes"])
    pages = economy["pages"]
    e = economy_checks(economy)
    rows = []
    for key, label, is_list in ECONOMY_PAGES:
        a, b = pages[small][key], pages[large][key]
        ops = " → ".join(f"{d['op']}({d['index'] or '+'.join(d['tables'])})" for d in b["detail"][:6])
        if len(b["detail"]) > 6:
            ops += f" … ({len(b['detail'])} calls)"
        if is_list:
            rps = e["read_per_shown"][key]
            per = f"{f(rps[small], 2)} / {f(rps[large], 2)}"
        elif key == "export":
            per = f"{a['lead_items_read'] / max(a['shown'], 1):.2f} / {b['lead_items_read'] / max(b['shown'], 1):.2f}"
        else:
            per = "–"
        same = "yes" if e["same_calls"].get(key) else "**no**"
        rows.append([label, f"{a['calls']} / {b['calls']}", same, f"{a['items_read']} / {b['items_read']}",
                     f"{a['lead_items_read']} / {b['lead_items_read']}", f"{a['shown']} / {b['shown']}", per, ops])
    export = pages[large]["export"]
    per_1000 = (export["calls"] - 1) * 1000 / max(export["shown"], 1)
    latency = economy.get("latency_ms", {})
    lat_rows = [[label, f(latency[small][key], 1), f(latency[large][key], 1),
                 x(latency[large][key] / latency[small][key] if latency[small][key] else None)]
                for key, label, _ in ECONOMY_PAGES if key in latency.get(small, {})]
    signin = economy["signin"][large]
    return f"""## 1. DynamoDB request economy

Every page driven in-process (Django test client, production settings, signed in as an admin) at
{int(small):,} and {int(large):,} leads. Calls and items come from botocore's `before-parameter-build` and
`after-call` hooks on the app's one client: *items read* is ScannedCount for Query/Scan, the item for
GetItem, the Responses for BatchGetItem, on every table; *lead items* counts the lead table only.
Each cell is `{int(small):,} leads / {int(large):,} leads`.

{table(["page", "calls", "same calls", "items read", "lead items read", "shown", "lead items ÷ shown", f"calls at {int(large):,} leads"], rows)}

- **Floor and how close we are.** A list page cannot cost less than the session GetItem plus one
  Query (2 calls, exactly the rows shown). Every list page makes **3**: the extra call is the
  BatchGetItem of the five status counters shown beside the filters (5 small items). Lead items read
  equal leads shown on every list page at both sizes (ratio 1.00; the by-domain page shows fewer rows
  at {int(small):,} leads only because fewer leads match there). The lead page makes 4 (session, lead,
  history, staff roster for the owner menu); an edit save 4 (session, lead, roster, one
  TransactWriteItems); a delete 3; a contact post exactly one TransactWriteItems; the form itself none.
- **Export:** one Query page of 100 keys (index items) + one BatchGetItem of the 100 full items per
  100 rows: **{per_1000:.0f} calls and 2 items read per row, per 1,000 rows** at {int(large):,} leads — the same
  at any size (at {int(small):,} leads the one listing ends in an empty Query page, an end effect).
- Sign-in (not a page in the brief): {signin['calls']} calls ({', '.join(signin['operations'])}).
- The same call sequences are asserted, size-independently, in `tests/test_request_economy.py` (moto).

In-process latency of the read pages, median ms (the same pages, the same process; context for
"constant cost": the ratio should stay near 1.0×):

{table(["page", f"{int(small):,} leads", f"{int(large):,} leads", "ratio"], lat_rows)}
"""


def load_section(load: dict) -> str:
    fixed = "app_fix" in load.get("servers", [])
    rows, round_rows, fix_rows = [], [], []
    for key, p in load["pages"].items():
        rows.append([
            p["label"], f(p["ceiling"]["rps"]), f(p["floor"]["rps"]), f(p["app"]["rps"]),
            f"**{x(p['rps_vs_floor'])}**", x(p["rps_vs_ceiling"]),
            f(p["ceiling"]["p99_ms"], 1), f(p["floor"]["p99_ms"], 1), f(p["app"]["p99_ms"], 1),
            f"**{x(p['p99_vs_floor'])}**",
            verdict(p["rps_vs_floor"] >= BUDGET["rps_vs_floor"] and p["p99_vs_floor"] <= BUDGET["p99_vs_floor"]),
        ])
        round_rows.append([p["label"], ", ".join(x(r) for r in p["rps_vs_floor_by_round"]),
                           " / ".join(str(p[s]["non_2xx_3xx"]) for s in load.get("servers", ["app", "floor", "ceiling"]))])
        if fixed:
            fix_rows.append([
                p["label"], f(p["app"]["rps"]), f(p["app_fix"]["rps"]), x(p["fix_rps_vs_app"]),
                x(p["rps_vs_floor"]), f"**{x(p['fix_rps_vs_floor'])}**",
                x(p["p99_vs_floor"]), f"**{x(p['fix_p99_vs_floor'])}**",
                verdict(p["fix_rps_vs_floor"] >= BUDGET["rps_vs_floor"] and p["fix_p99_vs_floor"] <= BUDGET["p99_vs_floor"]),
            ])
    text = f"""## 2. Throughput and latency (gunicorn, 2 workers × 4 threads, wrk -c{load['concurrency']})

`wrk -t{load['wrk_threads']} -c{load['concurrency']} -d{load['seconds']:g}s`, {load['rounds']} interleaved round(s) in a rotating order. Requests/s and p99
are medians over the rounds; the **ratios are medians of the per-round ratios** (each round's app and
floor runs are seconds apart, so a burst of load from other jobs hits both sides of a pair).
The app runs with `DEBUG=0` behind a pretend TLS proxy (`X-Forwarded-Proto: https`), JSON request logs
on, rate limit off (`LEADS_RATELIMIT_DISABLED=1`, so every post is stored); pages are signed in with a
real session cookie. Every form post carries its own `Idempotency-Key` and stores a new lead
(`bench/wrk/post.lua`). Everything — wrk, the servers, DynamoDB Local — shares the machine's CPUs.

{table(["page", "ceiling req/s", "floor req/s", "app req/s", "app ÷ floor", "app ÷ ceiling", "ceiling p99 ms", "floor p99 ms", "app p99 ms", "p99 app ÷ floor", "budget"], rows)}

Per-round app ÷ floor requests/s (steadiness), and non-2xx/3xx responses ({" / ".join(load.get("servers", ["app", "floor", "ceiling"]))}):

{table(["page", "app ÷ floor by round", "errors"], round_rows)}
"""
    if fixed:
        text += f"""
### The app with the proposed fixes, in the same rounds

A fourth server, the app with the fixes proposed below applied as monkeypatches
(`bench/experiments.py`, `--app-patches`), was loaded in the same interleaved rounds:

{table(["page", "app req/s", "app + fixes req/s", "fixes ÷ app", "app ÷ floor", "app + fixes ÷ floor", "p99 app ÷ floor", "p99 app + fixes ÷ floor", "budget with fixes"], fix_rows)}
"""
    return text


def cpu_section(cpu: dict) -> str:
    fixed = "app_fix" in cpu
    labels = {"inbox": "inbox", "by_status": "inbox ?status=new", "lead": "lead page", "contact_post": "contact form POST (JSON)"}
    rows = []
    for page, label in labels.items():
        row = [label, f(cpu["app"][page], 2), f(cpu["floor"][page], 2), f"**{x(cpu['ratio'][page])}**"]
        if fixed:
            row += [f(cpu["app_fix"][page], 2), f"**{x(cpu['fix_ratio'][page])}**"]
        rows.append(row)
    header = ["page", "app CPU ms", "floor CPU ms", "app ÷ floor"] + (["app + fixes CPU ms", "app + fixes ÷ floor"] if fixed else [])
    return f"""### CPU per request (in-process, the steady signal behind the ratios above)

Each page served {cpu['requests_each']} times in a fresh process through Django's test client (no HTTP,
no server) against the same DynamoDB Local, app and floor interleaved over {cpu['rounds']} round(s);
`time.process_time()` per request, DynamoDB Local's own CPU excluded. Under load every process
shares the same CPUs, so a page's requests/s ratio follows its CPU ratio, diluted by the CPU
DynamoDB Local and wrk spend per request (the same for both sides).

{table(header, rows)}
"""


def memory_section(memory: dict) -> str:
    servers = [["app", memory["app"]], ["baseline (floor + ceiling)", memory["baseline"]]]
    if memory.get("app_fix"):
        servers.insert(1, ["app + fixes", memory["app_fix"]])
    return f"""## 4. Memory (peak RSS of a gunicorn worker after the load)

VmHWM from `/proc/<pid>/status` of each worker after all the wrk runs above (preloaded master, workers
forked from it; shared pages count in both).

{table(["server", "workers' VmHWM MB", "peak MB", "master MB"], [
    [name, ", ".join(f(w['hwm_mb'], 1) for w in m['workers']), f(m['peak_hwm_mb'], 1), f(m['master_hwm_mb'], 1)]
    for name, m in servers])}

App ÷ floor: **{x(memory['ratio'])}** (budget ≤ {BUDGET['memory_vs_floor']}×): {verdict(memory['ratio'] <= BUDGET['memory_vs_floor'])}.
"""


def coldstart_section(c: dict) -> str:
    labels = {
        "python": "python (interpreter only)", "django": "plain Django, template, no data",
        "floor": "plain Django + one bare PynamoDB GetItem", "app": "**app**: import leadsite.wsgi + /healthz (one GetItem)",
        "floor_inbox": "floor inbox (session + counters + Query)", "app_inbox": "**app** inbox, signed in (same 3 calls)",
    }
    rows = [[labels[k], f(v["total_ms"]), f(v["import_ms"]), f(v["first_request_ms"]), f(v["modules"])]
            for k, v in c["variants"].items()]
    prof = c["profiles"]["app"]
    top = table(["import (app), depth ≤ 3 under leadsite.wsgi", "depth", "cumulative ms"],
                [[r["module"], r["depth"], f(r["ms"], 1)] for r in prof["heaviest"][:18]])
    pkgs = table(["package", "self ms, app", "self ms, floor"],
                 [[k, f(v, 1), f(c["profiles"]["floor"]["by_package_ms"].get(k), 1)]
                  for k, v in list(prof["by_package_ms"].items())[:15]])
    extra = ", ".join(f"{k} {v:.0f} ms" for k, v in list(c["app_extra_import_ms_by_package"].items())[:10]) or "nothing notable"
    forbidden = c["variants"]["app"]["forbidden"]
    return f"""## 3. Cold start (what Lambda pays before the first response)

A fresh interpreter per run (`bench/coldstart_child.py`) imports the WSGI application and serves one
request through it (no server): from spawn to the response fully read. {c['rounds']} interleaved rounds, medians.

{table(["variant", "total ms", "to imported ms", "first request ms", "modules"], rows)}

- **App ÷ (plain Django + one bare GetItem): {x(c['app_vs_floor'])}** (budget ≤ {BUDGET['coldstart_vs_floor']}×):
  {verdict(c['app_vs_floor'] <= BUDGET['coldstart_vs_floor'])}. Signed-in inbox, app ÷ floor: {x(c['app_inbox_vs_floor_inbox'])}.
  Floor ÷ plain Django: {x(c['floor_vs_django'])} (PynamoDB + botocore + the first call).
- Modules never imported by the app in production: moto, tests, pytest, flask, werkzeug, responses —
  {"**imported: " + ", ".join(forbidden) + "**" if forbidden else "none of them was in `sys.modules` after the first request"}.

`python -X importtime`, app (`leadsite.wsgi`, {prof['modules']} modules, {prof['total_ms']:.0f} ms of imports):

{top}

Self time by top-level package (app vs floor); what the app imports beyond the floor: {extra}.

{pkgs}
"""


def export_section(ex: dict) -> str:
    http = ex.get("http")
    rows = [
        ["app (`/admin/leads/export.csv`, in-process)", f(ex["app"]["rows"]), f(ex["app"]["rows_per_s"]),
         f(ex["app"]["hwm_mb_small"], 1), f(ex["app"]["hwm_mb_full"], 1), f"{ex['app']['hwm_growth_mb']:+.1f}"],
        ["floor (bare PynamoDB loop, same CSV)", f(ex["floor"]["rows"]), f(ex["floor"]["rows_per_s"]),
         f(ex["floor"]["hwm_mb_small"], 1), f(ex["floor"]["hwm_mb_full"], 1), f"{ex['floor']['hwm_growth_mb']:+.1f}"],
    ]
    text = f"""## 5. Export

Fresh processes, no HTTP, {ex['rounds']} interleaved round(s), medians. Peak RSS (VmHWM) after a small export
({ex['app']['small_rows']:,} rows) and after the full one: memory must not grow with the row count.
The first {ex['app']['small_rows']:,} rows of both CSVs are byte-identical: {"yes" if ex["same_csv"] else "**no**"}.

{table(["exporter", "rows", "rows/s", f"peak MB, {ex['app']['small_rows']:,} rows", "peak MB, all rows", "growth MB"], rows)}

App ÷ floor rows/s: **{x(ex['rows_per_s_vs_floor'])}** (budget ≥ {BUDGET['export_vs_floor']}×):
{verdict(ex['rows_per_s_vs_floor'] >= BUDGET['export_vs_floor'])}.
"""
    if http:
        text += (f"\nThrough gunicorn over loopback (context): {f(http['rows'])} rows in {f(http['seconds'], 1)} s, "
                 f"{f(http['rows_per_s'])} rows/s, {http['bytes'] / 1e6:.1f} MB; the worker's peak RSS grew "
                 f"{http['worker_hwm_growth_mb']:+.1f} MB.\n")
    return text


def seed_section(results: dict) -> str:
    rows = []
    for size in results["meta"]["sizes"]:
        s = results["seed"][str(size)]
        rows.append([f(s["count"]), f(s["seconds"], 1), f(s["leads_per_s"]), f(s["items_per_s"]),
                     f(s["seed_process_cpu_s"], 1), f(s["dynamodb_local_cpu_s"], 1)])
    return f"""## 6. Seeding

`python manage.py seed_demo --count N` (BatchWriteItem of 25 items, a lead and its history event each;
counters by UpdateItem at the end; tqdm progress bar), into the fresh tables of this run.

{table(["leads", "seconds", "leads/s", "items/s", "CPU s, seed_demo", "CPU s, DynamoDB Local"], rows)}

DynamoDB Local's resident memory after seeding: {f(results['seed'].get('dynamodb_local_rss_mb'), 0)} MB.
"""


def _paired(page: dict, a: str, b: str, figure: str):
    """Median of per-round ratios, recomputed from the runs (older results stored ratios of medians)."""
    values = sorted(x[figure] / y[figure] for x, y in zip(page[a]["runs"], page[b]["runs"]) if y[figure])
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def before_after(before: dict, now: dict) -> str:
    rows = []

    def add(label, get, fmt=x):
        values = []
        for results in (before, now):
            try:
                values.append(fmt(get(results)))
            except (KeyError, TypeError):
                values.append("–")
        if values != ["–", "–"]:
            rows.append([label, *values])

    for key in ("inbox", "by_status", "lead", "contact_post"):
        add(f"{key}: app ÷ floor req/s", lambda r, k=key: _paired(r["load"]["pages"][k], "app", "floor", "rps"))
        add(f"{key}: p99 app ÷ floor", lambda r, k=key: _paired(r["load"]["pages"][k], "app", "floor", "p99_ms"))
        if "fix_rps_vs_floor" in now.get("load", {}).get("pages", {}).get(key, {}):
            rows.append([f"{key}: **app + proposed fixes** ÷ floor req/s (same run)", "–",
                         x(now["load"]["pages"][key]["fix_rps_vs_floor"])])
            rows.append([f"{key}: **app + proposed fixes** p99 ÷ floor (same run)", "–",
                         x(now["load"]["pages"][key]["fix_p99_vs_floor"])])
    for key in ("inbox", "by_status", "lead", "contact_post"):
        add(f"{key}: app CPU ÷ floor CPU per request", lambda r, k=key: r["cpu"]["ratio"][k])
    add("cold start app ÷ floor", lambda r: r["coldstart"]["app_vs_floor"])
    add("worker memory app ÷ floor", lambda r: r["memory"]["ratio"])
    add("export rows/s app ÷ floor", lambda r: r["export"]["rows_per_s_vs_floor"])
    add("seed_demo leads/s", lambda r: r["seed"][str(r["meta"]["sizes"][1])]["leads_per_s"], lambda v: f(v))
    if not rows:
        return ""
    note = before["meta"].get("note", "")
    return (f"### Before / after: `bench/results/before.json` ({before['meta']['date']}, commit "
            f"`{before['meta'].get('commit', '?')}`{'; ' + note if note else ''}) vs this run\n\n"
            + table(["figure (ratios against the same run's baseline)", "before", "now"], rows) + "\n"
            + (f"\nBefore's CPU figures: {before['cpu']['note']}.\n" if before.get("cpu", {}).get("note") else ""))


def writes_section(w: dict) -> str:
    rows = []
    for size in w["sizes"]:
        for design in ("before", "after"):
            r = w["summary"][design][str(size)]
            shards = w["designs"][design]["LEADS_TALLY_SHARDS"]
            rows.append([f"{size}", f"{design} ({shards} shard{'s' if shards != '1' else ''}, "
                         f"{w['designs'][design]['DYNAMODB_TRANSACTION_ATTEMPTS']} attempts)",
                         f"{r['stored_total']} of {r['posted_total']}", f"{r['refused_503_total']}",
                         f(r["submissions_per_s"], 1), f(r["p50_ms"]), f(r["p95_ms"])])
    return f"""## 7. Write ceiling with AWS's transaction conflicts (`bench/writes.py`)

Real DynamoDB cancels a transaction that touches an item another transaction holds (`TransactionConflict`);
DynamoDB Local serialises instead. Here both app servers reach DynamoDB Local through `tests.conflict_proxy`,
which cancels overlapping transactions as AWS does and holds each for {w['hold_ms']} ms. Every visitor is its
own connection and client address, the rate limit is on, and all of a burst post at the same moment;
{w['rounds']} interleaved round(s) per size, medians of the per-burst figures, totals of the counts. "before"
is the replaced design (every submission adds to one status item and one day item), "after" today's
sharded tallies (`leads/counters.py`). Measured {w['measured']['date']} at commit {w['measured']['commit']}.

""" + table(["visitors at once", "design", "stored (302)", "503", "submissions/s", "p50 ms", "p95 ms"], rows) + "\n"


def render(results: dict, *, before: dict | None = None) -> str:
    parts = [header(results), summary(results)]
    if "economy" in results:
        parts.append(economy_section(results["economy"]))
    if "load" in results:
        parts.append(load_section(results["load"]))
    if "cpu" in results:
        parts.append(cpu_section(results["cpu"]))
    if "coldstart" in results:
        parts.append(coldstart_section(results["coldstart"]))
    if results.get("memory"):
        parts.append(memory_section(results["memory"]))
    if "export" in results:
        parts.append(export_section(results["export"]))
    if "seed" in results:
        parts.append(seed_section(results))
    if "writes" in results:
        parts.append(writes_section(results["writes"]))
    if FINDINGS.is_file() and not results["meta"]["quick"]:
        parts.append(FINDINGS.read_text().strip() + "\n")
    if before:
        parts.append(before_after(before, results))
    misses = missed(results)
    closing = ("Every budget above is met in this run." if not misses else
               "Budgets missed in this run, and by how much (the findings above say why):\n\n"
               + "\n".join(f"- {m}" for m in misses)
               + "\n\nThe per-round ratios in section 2 show how far a single run moves on this machine; the CPU per "
                 "request table is the steadier measure of what the app adds to the floor.")
    parts.append("## Closing note\n\n" + closing + "\n")
    parts.append("""## Reproduce

```sh
make bench                      # = .venv/bin/python -m bench.run (needs make install-dev, make dynamodb-local, wrk)
.venv/bin/python -m bench.run --quick --out /tmp/BENCHMARKS.md   # a one-minute smoke run
```
Raw figures of the last run: `bench/results/latest.json`.
""")
    return "\n".join(parts)


if __name__ == "__main__":
    import json
    import sys

    data = json.loads(Path(sys.argv[1]).read_text())
    print(render(data))
