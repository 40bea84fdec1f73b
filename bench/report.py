"""BENCHMARKS.md from a results dict (bench/results/latest.json): each section's prose beside its figures."""
import re

from .common import PAGES, ROOT, paired, ratio
from .economy import ECONOMY_PAGES

LABELS = {key: label for key, label, _ in ECONOMY_PAGES}
# The findings are written by hand in BENCHMARKS.md itself (heading to next heading): a rewrite keeps them.
REPORT, FINDINGS = ROOT / "BENCHMARKS.md", re.compile(r"^## Findings.*?(?=^##+ )", re.M | re.S)
BUDGET = {"max_calls": 4, "list_read_per_shown": 1.0, "rps_vs_floor": 0.8, "p99_vs_floor": 1.25, "coldstart_vs_floor": 1.1,
          "memory_vs_floor": 1.2, "export_vs_floor": 0.8, "export_growth_mb": 5.0}


def f(value, digits=0) -> str:
    """A figure with thousands separators; – where nothing was measured."""
    return "–" if value is None else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def x(value) -> str:
    return "–" if value is None else f"{value:.2f}×"


def verdict(ok) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def economy_checks(economy: dict) -> dict:
    """The economy budgets over both sizes: same calls and items, calls a page, lead items read per shown, Scans."""
    small, large = (economy["pages"][str(s)] for s in economy["sizes"])
    keys = [key for key in LABELS if key != "export"]
    per_shown = {key: [p[key]["lead_items_read"] / p[key]["shown"] if p[key]["shown"] else None for p in (small, large)]
                 for key, _, is_list in ECONOMY_PAGES if is_list}
    same_calls = {key: small[key]["operations"] == large[key]["operations"] for key in keys}
    # The export's calls grow with its rows; its pattern (a Query, then a BatchGetItem per 100 rows) must not.
    same_calls["export"] = all(p["export"]["operations"][1:3] == ["Query", "BatchGetItem"] for p in (small, large))
    # Items read may differ only where the small table has fewer leads to show, at the same items per item shown.
    items_differ = [key for key in keys if small[key]["items_read"] != large[key]["items_read"]]
    explained = all(key == "dashboard" or (small[key]["shown"] != large[key]["shown"]
                                           and len(set(per_shown.get(key, [None]))) == 1) for key in items_differ)
    return {"same_calls": same_calls, "items_differ": items_differ, "items_ok": explained,
            "max_calls": max((p[key]["calls"], key) for p in (small, large) for key in keys),
            "worst_read": max((v for pair in per_shown.values() for v in pair if v is not None), default=None),
            "scans": sum(page["scans"] for p in (small, large) for page in p.values())}


def budgets(r: dict) -> tuple[list[list], list[str]]:
    """The summary's rows (section, budget, measured, verdict), and the closing note's misses, each with by how much."""
    rows, misses = [], []
    if "economy" in r:
        e = economy_checks(r["economy"])
        differ = ", ".join(LABELS[k] for k, same in e["same_calls"].items() if not same)
        rows += [["1", "same calls at both table sizes, every page", f"differ: {differ}" if differ else "identical", not differ],
                 ["1", "same items read at both sizes", "identical but " + ", ".join(LABELS[k] for k in e["items_differ"])
                  + " (fewer matching leads/counters at the small size; same items per item shown)"
                  if e["items_differ"] else "identical", e["items_ok"]],
                 ["1", f"≤ {BUDGET['max_calls']} DynamoDB calls a page, session included",
                  f"max {e['max_calls'][0]} ({LABELS[e['max_calls'][1]]})", e["max_calls"][0] <= BUDGET["max_calls"]],
                 ["1", "list pages: lead items read ÷ shown = 1.0", f"max {f(e['worst_read'], 2)}",
                  e["worst_read"] is not None and e["worst_read"] <= BUDGET["list_read_per_shown"] + 1e-9],
                 ["1", "no Scan in any request", f"{e['scans']} Scan(s)", e["scans"] == 0]]
    if "load" in r:
        pages = r["load"]["pages"].values()
        rps, p99 = min(pages, key=lambda p: p["rps_vs_floor"]), max(pages, key=lambda p: p["p99_vs_floor"])
        rows += [["2", f"requests/s ≥ {BUDGET['rps_vs_floor']}× floor, each page",
                  f"min {x(rps['rps_vs_floor'])} ({rps['label']})", rps["rps_vs_floor"] >= BUDGET["rps_vs_floor"]],
                 ["2", f"p99 ≤ {BUDGET['p99_vs_floor']}× floor, each page", f"max {x(p99['p99_vs_floor'])} ({p99['label']})",
                  p99["p99_vs_floor"] <= BUDGET["p99_vs_floor"]]]
        for p in pages:  # the closing note names every page that missed, not just the worst
            if (short := BUDGET["rps_vs_floor"] - p["rps_vs_floor"]) > 0:
                misses.append(f"throughput: {p['label']} at {x(p['rps_vs_floor'])} the floor's requests/s (budget ≥ "
                              f"{BUDGET['rps_vs_floor']}×; short by {short:.2f}×)")
            if (over := p["p99_vs_floor"] - BUDGET["p99_vs_floor"]) > 0:
                misses.append(f"latency: {p['label']} p99 at {x(p['p99_vs_floor'])} the floor's (budget ≤ "
                              f"{BUDGET['p99_vs_floor']}×; over by {over:.2f}×)")
    if "coldstart" in r:
        c, bad = r["coldstart"], r["coldstart"]["variants"]["app"]["forbidden"]
        rows += [["3", f"cold start ≤ {BUDGET['coldstart_vs_floor']}× Django + one bare GetItem", f"{x(c['app_vs_floor'])} "
                  f"({f(c['variants']['app']['total_ms'])} vs {f(c['variants']['floor']['total_ms'])} ms)",
                  c["app_vs_floor"] <= BUDGET["coldstart_vs_floor"]],
                 ["3", "production never imports moto or test helpers", ", ".join(bad) or "none imported", not bad]]
    if (m := r.get("memory") or {}).get("ratio"):
        rows.append(["4", f"worker peak RSS ≤ {BUDGET['memory_vs_floor']}× floor", f"{x(m['ratio'])} "
                     f"({f(m['app']['peak_hwm_mb'], 1)} vs {f(m['baseline']['peak_hwm_mb'], 1)} MB)",
                     m["ratio"] <= BUDGET["memory_vs_floor"]])
    if "export" in r:
        ex, app = r["export"], r["export"]["app"]
        rows += [["5", f"export rows/s ≥ {BUDGET['export_vs_floor']}× bare PynamoDB loop", x(ex["rows_per_s_vs_floor"]),
                  ex["rows_per_s_vs_floor"] >= BUDGET["export_vs_floor"]],
                 ["5", "export memory does not grow with rows", f"{app['hwm_growth_mb']:+.1f} MB from "
                  f"{app['small_rows']:,} to {app['rows']:,} rows", app["hwm_growth_mb"] <= BUDGET["export_growth_mb"]],
                 ["5", "the same CSV as the bare loop", "byte-identical" if ex["same_csv"] else "differs", ex["same_csv"]]]
    if "seed" in r:
        s = r["seed"][str(r["meta"]["sizes"][1])]
        rows.append(["6", "seed_demo rate (no budget)", f"{f(s['leads_per_s'])} leads/s ({f(s['count'])} in "
                     f"{f(s['seconds'])} s)", None])
    if "writes" in r:
        w, top = r["writes"]["summary"], str(max(r["writes"]["sizes"]))
        after, before = w["after"][top], w["before"][top]
        rows += [["7", f"{top} visitors at once, conflicts as on AWS: 0 × 503", f"{after['refused_503_total']} of "
                  f"{after['posted_total']} (before: {before['refused_503_total']})",
                  after["refused_503_total"] == 0 and after["other_total"] == 0],
                 ["7", "write ceiling, submissions/s (no budget)",
                  f"{f(after['submissions_per_s'], 1)} (before: {f(before['submissions_per_s'], 1)})", None]]
        misses += [f"writes: {a['refused_503_total']} × 503 and {a['other_total']} other failures of {a['posted_total']} "
                   f"posts in bursts of {size} (budget: none)" for size, a in w["after"].items()
                   if a["refused_503_total"] or a["other_total"]]
    # Sections 2 and 7 listed their misses above, one line a page or burst size.
    misses[:0] = [f"§{s} {budget}: {measured}" for s, budget, measured, ok in rows if ok is False and s not in ("2", "7")]
    return [[*row[:3], verdict(row[3])] for row in rows], misses


def section(*parts: str) -> str:
    """A section of the report: its parts (heading, prose, tables) as paragraphs; empty parts left out."""
    return "\n\n".join(part for part in parts if part) + "\n"


def header(r: dict) -> str:
    meta, m = r["meta"], r["meta"]["machine"]
    return section("# Benchmarks", f"""Written by `{meta['command']}` (`make bench`) on {meta['date']} at commit \
`{meta.get('commit', '?')}`, in {meta['elapsed_s'] / 60:.1f} min. Figures that matter are **ratios** against a baseline
run interleaved with them in the same run; absolute times come from a shared machine and are context only.""",
        "> **Quick smoke run** (tiny sizes, one-second loads): the figures below are not benchmarks." * meta["quick"],
        f"""**Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB RAM, Linux {m['kernel']}, load average at start
{', '.join(f'{v:.2f}' for v in m['loadavg_at_start'])}. **Backend:** one DynamoDB Local (`-inMemory -sharedDb`) on
loopback, seeded with `seed_demo` at {f(meta['sizes'][0])} and {f(meta['sizes'][1])} leads. **Baselines**
(`bench/baseline/`, same `gunicorn.conf.py`): the *ceiling* renders 25 in-memory rows; the *floor* makes the page's
DynamoDB calls with bare PynamoDB models (one shared client, as the app) into the same template.""",
        table(["component", "version"], [["Python", m["python"]], *m["versions"].items()]),
        "## Budgets at a glance", table(["#", "budget", "measured", "verdict"], budgets(r)[0]))


def economy(r: dict) -> str:
    e, checks = r["economy"], economy_checks(r["economy"])
    small, large = (str(s) for s in e["sizes"])
    n, m = f(int(small)), f(int(large))
    rows = []
    for key, label, is_list in ECONOMY_PAGES:
        a, b = e["pages"][small][key], e["pages"][large][key]
        calls = " → ".join(f"{d['op']}({d['index'] or '+'.join(d['tables'])})" for d in b["detail"][:6])
        calls += f" … ({len(b['detail'])} calls)" if len(b["detail"]) > 6 else ""
        per_shown = " / ".join(f(p["lead_items_read"] / p["shown"] if p["shown"] else None, 2) for p in (a, b))
        rows.append([label, f"{a['calls']} / {b['calls']}", "yes" if checks["same_calls"][key] else "**no**",
                     *(f"{a[k]} / {b[k]}" for k in ("items_read", "lead_items_read", "shown")),
                     per_shown if is_list or key == "export" else "–", calls])
    export, signin, latency = e["pages"][large]["export"], e["signin"][large], e["latency_ms"]
    export_calls = (export["calls"] - 1) * 1000 / max(export["shown"], 1)  # less the session's GetItem
    return section("## 1. DynamoDB request economy", f"""Every page in-process, signed in; botocore hooks on the \
app's client count calls and *items read* (ScannedCount, GetItem's item, BatchGetItem's responses; *lead items*: the
lead table's). Cells: `{n} leads / {m} leads`.""", table(["page", "calls", "same calls", "items read", "lead items read",
                                                         "shown", "lead items ÷ shown", f"calls at {m} leads"], rows),
        f"""List pages make the least possible, session + counters + one Query of exactly the rows shown. Export: \
**{export_calls:.0f} calls and 2 items read per row, per 1,000 rows** at {m} leads (a Query page of keys, a BatchGetItem
per 100 rows). Sign-in (not a page): {signin['calls']} calls ({', '.join(signin['operations'])}). Median in-process ms of
the read pages:""", table(["page", f"{n} leads", f"{m} leads", "ratio"], [
            [label, f(latency[small][key], 1), f(latency[large][key], 1), x(ratio(latency[large][key], latency[small][key]))]
            for key, label, _ in ECONOMY_PAGES if key in latency[small]]))


def load(r: dict) -> str:
    load, servers = r["load"], r["load"]["servers"]
    pages = load["pages"].values()
    rows = [[p["label"], *(f(p[s]["rps"]) for s in servers), f"**{x(p['rps_vs_floor'])}**", x(p["rps_vs_ceiling"]),
             *(f(p[s]["p99_ms"], 1) for s in servers), f"**{x(p['p99_vs_floor'])}**",
             verdict(p["rps_vs_floor"] >= BUDGET["rps_vs_floor"] and p["p99_vs_floor"] <= BUDGET["p99_vs_floor"])]
            for p in pages]
    return section(f"## 2. Throughput and latency (gunicorn, 2 workers × 4 threads, wrk -c{load['concurrency']})",
                   f"""`wrk -t{load['wrk_threads']} -c{load['concurrency']} -d{load['seconds']:g}s`, {load['rounds']} \
interleaved round(s); figures are medians, **ratios medians of per-round ratios**. The app runs `DEBUG=0` behind a
pretend TLS proxy with JSON logs on and the rate limit off; every form post stores a new lead (`bench/wrk/post.lua`).""",
                   table(["page", *(f"{s} req/s" for s in servers), "app ÷ floor", "app ÷ ceiling",
                          *(f"{s} p99 ms" for s in servers), "p99 app ÷ floor", "budget"], rows),
                   f"Per-round app ÷ floor requests/s, and non-2xx/3xx responses ({' / '.join(servers)}):",
                   table(["page", "app ÷ floor by round", "errors"], [
                       [p["label"], ", ".join(x(v) for v in p["rps_vs_floor_by_round"]),
                        " / ".join(str(p[s]["non_2xx_3xx"]) for s in servers)] for p in pages]))


def cpu(r: dict) -> str:
    c = r["cpu"]
    return section("### CPU per request (in-process, the steady signal behind the ratios above)",
                   f"""Each page {c['requests_each']} times in a fresh process through Django's test client, app and \
floor interleaved over {c['rounds']} round(s); `time.process_time()`, so DynamoDB Local's CPU is left out.""",
                   table(["page", "app CPU ms", "floor CPU ms", "app ÷ floor"], [
                       [label, f(c["app"][key], 2), f(c["floor"][key], 2), f"**{x(c['ratio'][key])}**"]
                       for key, (label, *_) in PAGES.items()]))


COLDSTART_LABELS = {
    "python": "python (interpreter only)", "django": "plain Django, template, no data",
    "floor": "plain Django + one bare PynamoDB GetItem", "app": "**app**: import leadsite.wsgi + /healthz (one GetItem)",
    "floor_inbox": "floor inbox (session + counters + Query)", "app_inbox": "**app** inbox, signed in (same 3 calls)",
}


def coldstart(r: dict) -> str:
    c = r["coldstart"]
    app, floor, forbidden = c["profiles"]["app"], c["profiles"]["floor"], c["variants"]["app"]["forbidden"]
    extra = ", ".join(f"{k} {v:.0f} ms" for k, v in list(c["app_extra_import_ms_by_package"].items())[:10])
    return section("## 3. Cold start (what Lambda pays before the first response)", f"""A fresh interpreter per run \
(`bench/fresh.py`) imports the WSGI application and serves one request, from spawn to the response read; {c['rounds']}
interleaved rounds, medians.""", table(["variant", "total ms", "to imported ms", "first request ms", "modules"], [
        [COLDSTART_LABELS[k], f(v["total_ms"]), f(v["import_ms"]), f(v["first_request_ms"]), f(v["modules"])]
        for k, v in c["variants"].items()]),
        f"""**App ÷ floor (plain Django + one bare GetItem): {x(c['app_vs_floor'])}** (budget ≤ \
{BUDGET['coldstart_vs_floor']}×): {verdict(c['app_vs_floor'] <= BUDGET['coldstart_vs_floor'])}; signed-in inbox \
{x(c['app_inbox_vs_floor_inbox'])}; floor ÷ plain Django {x(c['floor_vs_django'])}. Moto, tests, pytest, flask, werkzeug,
responses, bench in the app's `sys.modules`: {f"**{', '.join(forbidden)}**" if forbidden else "none"}.
`python -X importtime` of the app ({app['modules']} modules, {app['total_ms']:.0f} ms of imports):""",
        table(["import (app), depth ≤ 3 under leadsite.wsgi", "depth", "cumulative ms"],
              [[i["module"], i["depth"], f(i["ms"], 1)] for i in app["heaviest"][:18]]),
        f"Self time by top-level package; what the app imports beyond the floor: {extra or 'nothing notable'}.",
        table(["package", "self ms, app", "self ms, floor"],
              [[k, f(v, 1), f(floor["by_package_ms"].get(k), 1)] for k, v in list(app["by_package_ms"].items())[:15]]))


def memory(r: dict) -> str:
    m = r["memory"]
    return section("## 4. Memory (peak RSS of a gunicorn worker after the load)", f"""Each worker's VmHWM after the \
wrk runs (forked from a preloaded master: shared pages count in both). App ÷ floor: **{x(m['ratio'])}** (budget ≤
{BUDGET['memory_vs_floor']}×): {verdict(m['ratio'] <= BUDGET['memory_vs_floor'])}.""",
                   table(["server", "workers' VmHWM MB", "peak MB", "master MB"], [
                       [name, ", ".join(f(w["hwm_mb"], 1) for w in s["workers"]), f(s["peak_hwm_mb"], 1),
                        f(s["master_hwm_mb"], 1)] for name, s in (("app", m["app"]), ("baseline (floor + ceiling)", m["baseline"]))]))


def export(r: dict) -> str:
    ex, http, small = r["export"], r["export"].get("http"), f(r["export"]["app"]["small_rows"])
    return section("## 5. Export", f"""Fresh processes, {ex['rounds']} interleaved round(s), medians; peak RSS after \
{small} rows and after all. Same first {small} rows, byte for byte: {"yes" if ex["same_csv"] else "**no**"}. App ÷ floor
rows/s: **{x(ex['rows_per_s_vs_floor'])}** (budget ≥ {BUDGET['export_vs_floor']}×): \
{verdict(ex['rows_per_s_vs_floor'] >= BUDGET['export_vs_floor'])}.""",
        table(["exporter", "rows", "rows/s", f"peak MB, {small} rows", "peak MB, all rows", "growth MB"], [
            [name, f(e["rows"]), f(e["rows_per_s"]), f(e["hwm_mb_small"], 1), f(e["hwm_mb_full"], 1), f"{e['hwm_growth_mb']:+.1f}"]
            for name, e in (("app (`/admin/leads/export.csv`, in-process)", ex["app"]),
                            ("floor (bare PynamoDB loop, same CSV)", ex["floor"]))]),
        http and f"Through gunicorn over loopback (context): {f(http['rows'])} rows in {f(http['seconds'], 1)} s, "
                 f"{f(http['rows_per_s'])} rows/s, {http['bytes'] / 1e6:.1f} MB; the worker's peak RSS grew "
                 f"{http['worker_hwm_growth_mb']:+.1f} MB.")


def seed(r: dict) -> str:
    return section("## 6. Seeding", f"""`manage.py seed_demo --count N` (BatchWriteItem of 25 items: a lead and its \
history event each) into fresh tables. DynamoDB Local's resident memory afterwards: \
{f(r['seed'].get('dynamodb_local_rss_mb'), 0)} MB.""",
        table(["leads", "seconds", "leads/s", "items/s", "CPU s, seed_demo", "CPU s, DynamoDB Local"], [
            [f(s["count"]), f(s["seconds"], 1), f(s["leads_per_s"]), f(s["items_per_s"]), f(s["seed_process_cpu_s"], 1),
             f(s["dynamodb_local_cpu_s"], 1)] for s in (r["seed"][str(size)] for size in r["meta"]["sizes"])]))


def writes(r: dict) -> str:
    w, rows = r["writes"], []
    for size in w["sizes"]:
        for design, settings in w["designs"].items():
            s, shards = w["summary"][design][str(size)], settings["LEADS_TALLY_SHARDS"]
            rows.append([size, f"{design} ({shards} shard{'s' if shards != '1' else ''}, "
                         f"{settings['DYNAMODB_TRANSACTION_ATTEMPTS']} attempts)", f"{s['stored_total']} of {s['posted_total']}",
                         s["refused_503_total"], f(s["submissions_per_s"], 1), f(s["p50_ms"]), f(s["p95_ms"])])
    return section("## 7. Write ceiling with AWS's transaction conflicts (`bench/writes.py`)", f"""DynamoDB Local \
serialises transactions; `tests.conflict_proxy` cancels overlapping ones as AWS does (`TransactionConflict`), holding
each {w['hold_ms']} ms. Each visitor has its own connection and address, rate limit on, a burst posting at once;
{w['rounds']} interleaved round(s) per size, medians, totals of the counts. "before": one status and one day item per
submission; "after": sharded tallies. Measured {w['measured']['date']} at {w['measured']['commit']}.""",
        table(["visitors at once", "design", "stored (302)", "503", "submissions/s", "p50 ms", "p95 ms"], rows))


# The figures compared with bench/results/before.json: (label, how to get it from a results dict, format).
BEFORE_AFTER = [
    *[(f"{key}: {name}", lambda r, k=key, fig=fig: paired(r["load"]["pages"][k]["app"]["runs"],
                                                             r["load"]["pages"][k]["floor"]["runs"], fig), x)
      for key in PAGES for name, fig in (("app ÷ floor req/s", "rps"), ("p99 app ÷ floor", "p99_ms"))],
    *[(f"{key}: app CPU ÷ floor CPU per request", lambda r, k=key: r["cpu"]["ratio"][k], x) for key in PAGES],
    ("cold start app ÷ floor", lambda r: r["coldstart"]["app_vs_floor"], x),
    ("worker memory app ÷ floor", lambda r: r["memory"]["ratio"], x),
    ("export rows/s app ÷ floor", lambda r: r["export"]["rows_per_s_vs_floor"], x),
    ("seed_demo leads/s", lambda r: r["seed"][str(r["meta"]["sizes"][1])]["leads_per_s"], f),
]


def value(results: dict, get, fmt) -> str:
    try:
        return fmt(get(results))
    except (KeyError, TypeError):  # a part that run skipped, or a figure it did not keep
        return "–"


def before_after(before: dict, now: dict) -> str:
    """The same figures from both runs (ratios recomputed from each run's rounds); rows neither run has are left out."""
    meta, cpu_note = before["meta"], before.get("cpu", {}).get("note")
    rows = [[label, *(value(run, get, fmt) for run in (before, now))] for label, get, fmt in BEFORE_AFTER]
    return f"""### Before / after: `bench/results/before.json` ({meta['date']}, commit `{meta.get('commit', '?')}`\
{'; ' + meta['note'] if meta.get('note') else ''}) vs this run

{table(["figure (ratios against the same run's baseline)", "before", "now"], [row for row in rows if row[1:] != ["–", "–"]])}
{f"{chr(10)}Before's CPU figures: {cpu_note}." if cpu_note else ""}
"""


def closing(results: dict) -> str:
    misses = "\n".join(f"- {m}" for m in budgets(results)[1])
    verdicts = (f"Budgets missed in this run, and by how much (the findings say why; section 2's per-round ratios show "
                f"how far one run moves, the CPU table is steadier):\n\n{misses}" if misses
                else "Every budget above is met in this run.")
    return f"""## Closing note

{verdicts}

## Reproduce

```sh
make bench                      # = .venv/bin/python -m bench.run (needs make install-dev, make dynamodb-local, wrk)
.venv/bin/python -m bench.run --quick --out /tmp/BENCHMARKS.md   # a one-minute smoke run
```
Raw figures of the last run: `bench/results/latest.json`.
"""


def render(results: dict, *, before: dict | None = None) -> str:
    # The sections in order; a part the run skipped has no results and no section.
    out = [header(results)] + [section(results) for name, section in (
        ("economy", economy), ("load", load), ("cpu", cpu), ("coldstart", coldstart), ("memory", memory),
        ("export", export), ("seed", seed), ("writes", writes)) if results.get(name)]
    findings = FINDINGS.search(REPORT.read_text()) if REPORT.is_file() else None
    if findings and not results["meta"]["quick"]:
        out.append(findings[0].strip() + "\n")
    if before:
        out.append(before_after(before, results))
    return "\n".join(out + [closing(results)])
