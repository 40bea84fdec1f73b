"""Write BENCHMARKS.md from a results dict (bench/results/latest.json): figures, ratios, budgets, verdicts."""
from .common import BENCH, PAGES, paired
from .economy import ECONOMY_PAGES

FINDINGS = BENCH / "findings.md"
LABELS = {key: label for key, label, _ in ECONOMY_PAGES}
BUDGET = {"max_calls": 4, "list_read_per_shown": 1.0, "rps_vs_floor": 0.8, "p99_vs_floor": 1.25, "coldstart_vs_floor": 1.1,
          "memory_vs_floor": 1.2, "export_vs_floor": 0.8, "export_growth_mb": 5.0}


def f(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def x(value):
    return "–" if value is None else f"{value:.2f}×"


def verdict(ok) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def economy_checks(economy: dict) -> dict:
    """Calls and items per page at both sizes, against the economy budgets."""
    small, large = (str(s) for s in economy["sizes"])
    pages = economy["pages"]
    both = lambda key, figure: (pages[small][key][figure], pages[large][key][figure])  # noqa: E731
    same_calls = {key: len(set(map(tuple, both(key, "operations")))) == 1 for key in LABELS if key != "export"}
    # Export: per 1,000 rows, the same pattern (Query + BatchGetItem per 100 rows) at both sizes.
    same_calls["export"] = all(ops[1:3] == ["Query", "BatchGetItem"] for ops in both("export", "operations"))
    max_calls = max((pages[s][key]["calls"], key) for s in (small, large) for key in LABELS if key != "export")
    per_shown = {key: {s: pages[s][key]["lead_items_read"] / pages[s][key]["shown"] if pages[s][key]["shown"] else None
                       for s in (small, large)} for key, _, is_list in ECONOMY_PAGES if is_list}
    worst_read = max((v for r in per_shown.values() for v in r.values() if v is not None), default=None)
    same_items = {key: len(set(both(key, "items_read"))) == 1 for key in LABELS if key != "export"}
    # Items may differ only where the small table has fewer leads to show (same items read per item shown).
    same_rate = lambda key: len({per_shown.get(key, {}).get(s) for s in (small, large)}) == 1  # noqa: E731
    explained = all(same or (len(set(both(key, "shown"))) > 1 and same_rate(key))
                    for key, same in same_items.items() if key != "dashboard")
    return {"same_calls": same_calls, "max_calls": max_calls, "read_per_shown": per_shown, "worst_read": worst_read,
            "items_differ": [k for k, same in same_items.items() if not same], "items_ok": explained,
            "scans": sum(p["scans"] for size in (small, large) for p in pages[size].values())}


def budgets(r: dict) -> tuple[list[list], list[str]]:
    """The summary's rows (section, budget, measured, verdict), and one line per missed budget with by how much."""
    rows, misses = [], []

    def check(section, budget, measured, ok=None, miss=True):
        rows.append([section, budget, measured, verdict(ok)])
        if ok is False and miss:
            misses.append(f"§{section} {budget}: {measured}")

    if "economy" in r:
        e = economy_checks(r["economy"])
        differ = [LABELS[k] for k, same in e["same_calls"].items() if not same]
        check("1", "same calls at both table sizes, every page", "differ: " + ", ".join(differ) if differ else "identical",
              not differ)
        check("1", "same items read at both sizes", "identical" if not e["items_differ"] else "identical but "
              + ", ".join(LABELS[k] for k in e["items_differ"]) + " (fewer matching leads/counters at the small size; "
              "same items per item shown)", e["items_ok"])
        check("1", f"≤ {BUDGET['max_calls']} DynamoDB calls a page, session included",
              f"max {e['max_calls'][0]} ({LABELS[e['max_calls'][1]]})", e["max_calls"][0] <= BUDGET["max_calls"])
        check("1", "list pages: lead items read ÷ shown = 1.0", f"max {f(e['worst_read'], 2)}",
              e["worst_read"] is not None and e["worst_read"] <= BUDGET["list_read_per_shown"] + 1e-9)
        check("1", "no Scan in any request", f"{e['scans']} Scan(s)", e["scans"] == 0)
    if "load" in r:
        pages = r["load"]["pages"].values()
        rps, p99 = min(pages, key=lambda p: p["rps_vs_floor"]), max(pages, key=lambda p: p["p99_vs_floor"])
        check("2", f"requests/s ≥ {BUDGET['rps_vs_floor']}× floor, each page", f"min {x(rps['rps_vs_floor'])} ({rps['label']})",
              rps["rps_vs_floor"] >= BUDGET["rps_vs_floor"], miss=False)
        check("2", f"p99 ≤ {BUDGET['p99_vs_floor']}× floor, each page", f"max {x(p99['p99_vs_floor'])} ({p99['label']})",
              p99["p99_vs_floor"] <= BUDGET["p99_vs_floor"], miss=False)
        for p in pages:  # the closing note names every page that missed
            if p["rps_vs_floor"] < BUDGET["rps_vs_floor"]:
                misses.append(f"throughput: {p['label']} at {x(p['rps_vs_floor'])} the floor's requests/s (budget ≥ "
                              f"{BUDGET['rps_vs_floor']}×; short by {BUDGET['rps_vs_floor'] - p['rps_vs_floor']:.2f}×)")
            if p["p99_vs_floor"] > BUDGET["p99_vs_floor"]:
                misses.append(f"latency: {p['label']} p99 at {x(p['p99_vs_floor'])} the floor's (budget ≤ "
                              f"{BUDGET['p99_vs_floor']}×; over by {p['p99_vs_floor'] - BUDGET['p99_vs_floor']:.2f}×)")
    if "coldstart" in r:
        c, bad = r["coldstart"], r["coldstart"]["variants"]["app"]["forbidden"]
        check("3", f"cold start ≤ {BUDGET['coldstart_vs_floor']}× Django + one bare GetItem",
              f"{x(c['app_vs_floor'])} ({f(c['variants']['app']['total_ms'])} vs {f(c['variants']['floor']['total_ms'])} ms)",
              c["app_vs_floor"] <= BUDGET["coldstart_vs_floor"])
        check("3", "production never imports moto or test helpers", ", ".join(bad) or "none imported", not bad)
    if (r.get("memory") or {}).get("ratio"):
        m = r["memory"]
        check("4", f"worker peak RSS ≤ {BUDGET['memory_vs_floor']}× floor", f"{x(m['ratio'])} ({f(m['app']['peak_hwm_mb'], 1)}"
              f" vs {f(m['baseline']['peak_hwm_mb'], 1)} MB)", m["ratio"] <= BUDGET["memory_vs_floor"])
    if "export" in r:
        ex = r["export"]
        check("5", f"export rows/s ≥ {BUDGET['export_vs_floor']}× bare PynamoDB loop", x(ex["rows_per_s_vs_floor"]),
              ex["rows_per_s_vs_floor"] >= BUDGET["export_vs_floor"])
        check("5", "export memory does not grow with rows", f"{ex['app']['hwm_growth_mb']:+.1f} MB from "
              f"{ex['app']['small_rows']:,} to {ex['app']['rows']:,} rows", ex["app"]["hwm_growth_mb"] <= BUDGET["export_growth_mb"])
        check("5", "the same CSV as the bare loop", "byte-identical" if ex["same_csv"] else "differs", ex["same_csv"])
    if "seed" in r:
        s = r["seed"][str(r["meta"]["sizes"][1])]
        check("6", "seed_demo rate (no budget)", f"{f(s['leads_per_s'])} leads/s ({f(s['count'])} in {f(s['seconds'])} s)")
    if "writes" in r:
        w, top = r["writes"]["summary"], str(max(r["writes"]["sizes"]))
        after, before = w["after"][top], w["before"][top]
        check("7", f"{top} visitors at once, conflicts as on AWS: 0 × 503", f"{after['refused_503_total']} of "
              f"{after['posted_total']} (before: {before['refused_503_total']})",
              after["refused_503_total"] == 0 and after["other_total"] == 0, miss=False)
        check("7", "write ceiling, submissions/s (no budget)",
              f"{f(after['submissions_per_s'], 1)} (before: {f(before['submissions_per_s'], 1)})")
        misses += [f"writes: {a['refused_503_total']} × 503 and {a['other_total']} other failures of {a['posted_total']} "
                   f"posts in bursts of {size} (budget: none)" for size, a in w["after"].items()
                   if a["refused_503_total"] or a["other_total"]]
    return rows, misses


def header(r: dict) -> str:
    meta, m = r["meta"], r["meta"]["machine"]
    small, large = meta["sizes"]
    quick = "\n\n> **Quick smoke run** (tiny sizes, one-second loads): the figures below are not benchmarks." if meta["quick"] else ""
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

{table(["component", "version"], [["Python", m["python"]], *m["versions"].items()])}

## Budgets at a glance

{table(["#", "budget", "measured", "verdict"], budgets(r)[0])}
"""


def economy_section(r: dict) -> str:
    economy = r["economy"]
    small, large = (str(s) for s in economy["sizes"])
    pages, latency, e = economy["pages"], economy["latency_ms"], economy_checks(economy)
    rows = []
    for key, label, is_list in ECONOMY_PAGES:
        a, b = pages[small][key], pages[large][key]
        ops = " → ".join(f"{d['op']}({d['index'] or '+'.join(d['tables'])})" for d in b["detail"][:6])
        ops += f" … ({len(b['detail'])} calls)" if len(b["detail"]) > 6 else ""
        per = ("–" if not is_list and key != "export" else
               " / ".join(f(p["lead_items_read"] / p["shown"] if p["shown"] else None, 2) for p in (a, b)))
        rows.append([label, f"{a['calls']} / {b['calls']}", "yes" if e["same_calls"][key] else "**no**",
                     *(f"{a[k]} / {b[k]}" for k in ("items_read", "lead_items_read", "shown")), per, ops])
    export, signin, n, m = pages[large]["export"], economy["signin"][large], f"{int(small):,}", f"{int(large):,}"
    lat_rows = [[label, f(latency[small][key], 1), f(latency[large][key], 1),
                 x(latency[large][key] / latency[small][key] if latency[small][key] else None)]
                for key, label, _ in ECONOMY_PAGES if key in latency[small]]
    return f"""## 1. DynamoDB request economy

Every page driven in-process (Django test client, production settings, signed in as an admin) at
{n} and {m} leads. Calls and items come from botocore's `before-parameter-build` and
`after-call` hooks on the app's one client: *items read* is ScannedCount for Query/Scan, the item for
GetItem, the Responses for BatchGetItem, on every table; *lead items* counts the lead table only.
Each cell is `{n} leads / {m} leads`.

{table(["page", "calls", "same calls", "items read", "lead items read", "shown", "lead items ÷ shown", f"calls at {m} leads"], rows)}

- **Floor and how close we are.** A list page cannot cost less than the session GetItem plus one
  Query (2 calls, exactly the rows shown). Every list page makes **3**: the extra call is the
  BatchGetItem of the five status counters shown beside the filters (5 small items). Lead items read
  equal leads shown on every list page at both sizes (ratio 1.00; the by-domain page shows fewer rows
  at {n} leads only because fewer leads match there). The lead page makes 4 (session, lead,
  history, staff roster for the owner menu); an edit save 4 (session, lead, roster, one
  TransactWriteItems); a delete 3; a contact post exactly one TransactWriteItems; the form itself none.
- **Export:** one Query page of 100 keys (index items) + one BatchGetItem of the 100 full items per
  100 rows: **{(export["calls"] - 1) * 1000 / max(export["shown"], 1):.0f} calls and 2 items read per row, per 1,000 rows** at {m} leads — the same
  at any size (at {n} leads the one listing ends in an empty Query page, an end effect).
- Sign-in (not a page in the brief): {signin['calls']} calls ({', '.join(signin['operations'])}).
- The same call sequences are asserted, size-independently, in `tests/test_request_economy.py` (moto).

In-process latency of the read pages, median ms (the same pages, the same process; context for
"constant cost": the ratio should stay near 1.0×):

{table(["page", f"{n} leads", f"{m} leads", "ratio"], lat_rows)}
"""


def load_section(r: dict) -> str:
    load = r["load"]
    rows = [[p["label"], *(f(p[s]["rps"]) for s in load["servers"]), f"**{x(p['rps_vs_floor'])}**", x(p["rps_vs_ceiling"]),
             *(f(p[s]["p99_ms"], 1) for s in load["servers"]), f"**{x(p['p99_vs_floor'])}**",
             verdict(p["rps_vs_floor"] >= BUDGET["rps_vs_floor"] and p["p99_vs_floor"] <= BUDGET["p99_vs_floor"])]
            for p in load["pages"].values()]
    round_rows = [[p["label"], ", ".join(x(v) for v in p["rps_vs_floor_by_round"]),
                   " / ".join(str(p[s]["non_2xx_3xx"]) for s in load["servers"])] for p in load["pages"].values()]
    return f"""## 2. Throughput and latency (gunicorn, 2 workers × 4 threads, wrk -c{load['concurrency']})

`wrk -t{load['wrk_threads']} -c{load['concurrency']} -d{load['seconds']:g}s`, {load['rounds']} interleaved round(s) in a rotating order. Requests/s and p99
are medians over the rounds; the **ratios are medians of the per-round ratios** (each round's app and
floor runs are seconds apart, so a burst of load from other jobs hits both sides of a pair).
The app runs with `DEBUG=0` behind a pretend TLS proxy (`X-Forwarded-Proto: https`), JSON request logs
on, rate limit off (`LEADS_RATELIMIT_DISABLED=1`, so every post is stored); pages are signed in with a
real session cookie. Every form post carries its own `Idempotency-Key` and stores a new lead
(`bench/wrk/post.lua`). Everything — wrk, the servers, DynamoDB Local — shares the machine's CPUs.

{table(["page", *(f"{s} req/s" for s in load["servers"]), "app ÷ floor", "app ÷ ceiling",
        *(f"{s} p99 ms" for s in load["servers"]), "p99 app ÷ floor", "budget"], rows)}

Per-round app ÷ floor requests/s (steadiness), and non-2xx/3xx responses ({" / ".join(load["servers"])}):

{table(["page", "app ÷ floor by round", "errors"], round_rows)}
"""


def cpu_section(r: dict) -> str:
    cpu = r["cpu"]
    rows = [[label, f(cpu["app"][key], 2), f(cpu["floor"][key], 2), f"**{x(cpu['ratio'][key])}**"]
            for key, (label, *_) in PAGES.items()]
    return f"""### CPU per request (in-process, the steady signal behind the ratios above)

Each page served {cpu['requests_each']} times in a fresh process through Django's test client (no HTTP,
no server) against the same DynamoDB Local, app and floor interleaved over {cpu['rounds']} round(s);
`time.process_time()` per request, DynamoDB Local's own CPU excluded. Under load every process
shares the same CPUs, so a page's requests/s ratio follows its CPU ratio, diluted by the CPU
DynamoDB Local and wrk spend per request (the same for both sides).

{table(["page", "app CPU ms", "floor CPU ms", "app ÷ floor"], rows)}
"""


COLDSTART_LABELS = {
    "python": "python (interpreter only)", "django": "plain Django, template, no data",
    "floor": "plain Django + one bare PynamoDB GetItem", "app": "**app**: import leadsite.wsgi + /healthz (one GetItem)",
    "floor_inbox": "floor inbox (session + counters + Query)", "app_inbox": "**app** inbox, signed in (same 3 calls)",
}


def coldstart_section(r: dict) -> str:
    c = r["coldstart"]
    prof, floor, forbidden = c["profiles"]["app"], c["profiles"]["floor"], c["variants"]["app"]["forbidden"]
    rows = [[COLDSTART_LABELS[k], f(v["total_ms"]), f(v["import_ms"]), f(v["first_request_ms"]), f(v["modules"])]
            for k, v in c["variants"].items()]
    extra = ", ".join(f"{k} {v:.0f} ms" for k, v in list(c["app_extra_import_ms_by_package"].items())[:10]) or "nothing notable"
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

{table(["import (app), depth ≤ 3 under leadsite.wsgi", "depth", "cumulative ms"],
       [[i["module"], i["depth"], f(i["ms"], 1)] for i in prof["heaviest"][:18]])}

Self time by top-level package (app vs floor); what the app imports beyond the floor: {extra}.

{table(["package", "self ms, app", "self ms, floor"],
       [[k, f(v, 1), f(floor["by_package_ms"].get(k), 1)] for k, v in list(prof["by_package_ms"].items())[:15]])}
"""


def memory_section(r: dict) -> str:
    memory = r["memory"]
    rows = [[name, ", ".join(f(w["hwm_mb"], 1) for w in m["workers"]), f(m["peak_hwm_mb"], 1), f(m["master_hwm_mb"], 1)]
            for name, m in (("app", memory["app"]), ("baseline (floor + ceiling)", memory["baseline"]))]
    return f"""## 4. Memory (peak RSS of a gunicorn worker after the load)

VmHWM from `/proc/<pid>/status` of each worker after all the wrk runs above (preloaded master, workers
forked from it; shared pages count in both).

{table(["server", "workers' VmHWM MB", "peak MB", "master MB"], rows)}

App ÷ floor: **{x(memory['ratio'])}** (budget ≤ {BUDGET['memory_vs_floor']}×): {verdict(memory['ratio'] <= BUDGET['memory_vs_floor'])}.
"""


def export_section(r: dict) -> str:
    ex, http, small = r["export"], r["export"].get("http"), f"{r['export']['app']['small_rows']:,}"
    rows = [[name, f(e["rows"]), f(e["rows_per_s"]), f(e["hwm_mb_small"], 1), f(e["hwm_mb_full"], 1), f"{e['hwm_growth_mb']:+.1f}"]
            for name, e in (("app (`/admin/leads/export.csv`, in-process)", ex["app"]),
                            ("floor (bare PynamoDB loop, same CSV)", ex["floor"]))]
    return f"""## 5. Export

Fresh processes, no HTTP, {ex['rounds']} interleaved round(s), medians. Peak RSS (VmHWM) after a small export
({small} rows) and after the full one: memory must not grow with the row count.
The first {small} rows of both CSVs are byte-identical: {"yes" if ex["same_csv"] else "**no**"}.

{table(["exporter", "rows", "rows/s", f"peak MB, {small} rows", "peak MB, all rows", "growth MB"], rows)}

App ÷ floor rows/s: **{x(ex['rows_per_s_vs_floor'])}** (budget ≥ {BUDGET['export_vs_floor']}×):
{verdict(ex['rows_per_s_vs_floor'] >= BUDGET['export_vs_floor'])}.
""" + (f"\nThrough gunicorn over loopback (context): {f(http['rows'])} rows in {f(http['seconds'], 1)} s, "
       f"{f(http['rows_per_s'])} rows/s, {http['bytes'] / 1e6:.1f} MB; the worker's peak RSS grew "
       f"{http['worker_hwm_growth_mb']:+.1f} MB.\n" if http else "")


def seed_section(r: dict) -> str:
    rows = [[f(s["count"]), f(s["seconds"], 1), f(s["leads_per_s"]), f(s["items_per_s"]), f(s["seed_process_cpu_s"], 1),
             f(s["dynamodb_local_cpu_s"], 1)] for s in (r["seed"][str(size)] for size in r["meta"]["sizes"])]
    return f"""## 6. Seeding

`python manage.py seed_demo --count N` (BatchWriteItem of 25 items, a lead and its history event each;
counters by UpdateItem at the end; tqdm progress bar), into the fresh tables of this run.

{table(["leads", "seconds", "leads/s", "items/s", "CPU s, seed_demo", "CPU s, DynamoDB Local"], rows)}

DynamoDB Local's resident memory after seeding: {f(r['seed'].get('dynamodb_local_rss_mb'), 0)} MB.
"""


def writes_section(r: dict) -> str:
    w, rows = r["writes"], []
    for size in w["sizes"]:
        for design, settings in w["designs"].items():
            s, shards = w["summary"][design][str(size)], settings["LEADS_TALLY_SHARDS"]
            rows.append([size, f"{design} ({shards} shard{'s' if shards != '1' else ''}, "
                         f"{settings['DYNAMODB_TRANSACTION_ATTEMPTS']} attempts)", f"{s['stored_total']} of {s['posted_total']}",
                         s["refused_503_total"], f(s["submissions_per_s"], 1), f(s["p50_ms"]), f(s["p95_ms"])])
    return f"""## 7. Write ceiling with AWS's transaction conflicts (`bench/writes.py`)

Real DynamoDB cancels a transaction that touches an item another transaction holds (`TransactionConflict`);
DynamoDB Local serialises instead. Here both app servers reach DynamoDB Local through `tests.conflict_proxy`,
which cancels overlapping transactions as AWS does and holds each for {w['hold_ms']} ms. Every visitor is its
own connection and client address, the rate limit is on, and all of a burst post at the same moment;
{w['rounds']} interleaved round(s) per size, medians of the per-burst figures, totals of the counts. "before"
is the replaced design (every submission adds to one status item and one day item), "after" today's
sharded tallies (`leads/counters.py`). Measured {w['measured']['date']} at commit {w['measured']['commit']}.

{table(["visitors at once", "design", "stored (302)", "503", "submissions/s", "p50 ms", "p95 ms"], rows)}
"""


# Each section: the results key it needs, and how it is written.
SECTIONS = [("economy", economy_section), ("load", load_section), ("cpu", cpu_section), ("coldstart", coldstart_section),
            ("memory", memory_section), ("export", export_section), ("seed", seed_section), ("writes", writes_section)]
BEFORE_AFTER = [  # (figure, how to get it from a results dict, format)
    *[(f"{key}: {name}", lambda r, k=key, fig=fig: paired(r["load"]["pages"][k]["app"]["runs"],
                                                             r["load"]["pages"][k]["floor"]["runs"], fig), x)
      for key in PAGES for name, fig in (("app ÷ floor req/s", "rps"), ("p99 app ÷ floor", "p99_ms"))],
    *[(f"{key}: app CPU ÷ floor CPU per request", lambda r, k=key: r["cpu"]["ratio"][k], x) for key in PAGES],
    ("cold start app ÷ floor", lambda r: r["coldstart"]["app_vs_floor"], x),
    ("worker memory app ÷ floor", lambda r: r["memory"]["ratio"], x),
    ("export rows/s app ÷ floor", lambda r: r["export"]["rows_per_s_vs_floor"], x),
    ("seed_demo leads/s", lambda r: r["seed"][str(r["meta"]["sizes"][1])]["leads_per_s"], f),
]


def before_after(before: dict, now: dict) -> str:
    """The same figures from bench/results/before.json and this run (ratios recomputed from both runs' rounds)."""
    def value(results, get, fmt):
        try:
            return fmt(get(results))
        except (KeyError, TypeError):
            return "–"

    rows = [[label, value(before, get, fmt), value(now, get, fmt)] for label, get, fmt in BEFORE_AFTER]
    rows = [row for row in rows if row[1:] != ["–", "–"]]
    note, cpu_note = before["meta"].get("note"), before.get("cpu", {}).get("note")
    return (f"### Before / after: `bench/results/before.json` ({before['meta']['date']}, commit "
            f"`{before['meta'].get('commit', '?')}`{'; ' + note if note else ''}) vs this run\n\n"
            + table(["figure (ratios against the same run's baseline)", "before", "now"], rows) + "\n"
            + (f"\nBefore's CPU figures: {cpu_note}.\n" if cpu_note else "")) if rows else ""


def render(results: dict, *, before: dict | None = None) -> str:
    parts = [header(results), *(write(results) for key, write in SECTIONS if results.get(key))]
    if FINDINGS.is_file() and not results["meta"]["quick"]:
        parts.append(FINDINGS.read_text().strip() + "\n")
    if before:
        parts.append(before_after(before, results))
    misses = budgets(results)[1]
    closing = ("Every budget above is met in this run." if not misses else
               "Budgets missed in this run, and by how much (the findings above say why):\n\n"
               + "\n".join(f"- {m}" for m in misses)
               + "\n\nThe per-round ratios in section 2 show how far a single run moves on this machine; the CPU per "
                 "request table is the steadier measure of what the app adds to the floor.")
    return "\n".join(parts + ["## Closing note\n\n" + closing + "\n", """## Reproduce

```sh
make bench                      # = .venv/bin/python -m bench.run (needs make install-dev, make dynamodb-local, wrk)
.venv/bin/python -m bench.run --quick --out /tmp/BENCHMARKS.md   # a one-minute smoke run
```
Raw figures of the last run: `bench/results/latest.json`.
"""])
