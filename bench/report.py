"""Write BENCHMARKS.md from a results dict (bench/results/latest.json) and the prose of bench/report.md."""
import re

from .common import BENCH, PAGES, paired, ratio
from .economy import ECONOMY_PAGES

FINDINGS, TEMPLATE = BENCH / "findings.md", BENCH / "report.md"
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


def header(r: dict) -> dict:
    meta, m = r["meta"], r["meta"]["machine"]
    return {**meta, **m, "commit": meta.get("commit", "?"), "minutes": f"{meta['elapsed_s'] / 60:.1f}",
            "quick": "\n\n> **Quick smoke run** (tiny sizes, one-second loads): the figures below are not benchmarks."
            if meta["quick"] else "", "loadavg": ", ".join(f"{v:.2f}" for v in m["loadavg_at_start"]),
            "small": f(meta["sizes"][0]), "large": f(meta["sizes"][1]),
            "versions": table(["component", "version"], [["Python", m["python"]], *m["versions"].items()]),
            "budgets": table(["#", "budget", "measured", "verdict"], budgets(r)[0])}


def economy(r: dict) -> dict:
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
    export, signin, n, m = pages[large]["export"], economy["signin"][large], f(int(small)), f(int(large))
    return {"small": n, "large": m, "export_calls": f"{(export['calls'] - 1) * 1000 / max(export['shown'], 1):.0f}",
            "signin": f"{signin['calls']} calls ({', '.join(signin['operations'])})",
            "pages": table(["page", "calls", "same calls", "items read", "lead items read", "shown", "lead items ÷ shown",
                            f"calls at {m} leads"], rows),
            "latency": table(["page", f"{n} leads", f"{m} leads", "ratio"], [
                [label, f(latency[small][key], 1), f(latency[large][key], 1), x(ratio(latency[large][key], latency[small][key]))]
                for key, label, _ in ECONOMY_PAGES if key in latency[small]])}


def load(r: dict) -> dict:
    load, servers = r["load"], r["load"]["servers"]
    rows = [[p["label"], *(f(p[s]["rps"]) for s in servers), f"**{x(p['rps_vs_floor'])}**", x(p["rps_vs_ceiling"]),
             *(f(p[s]["p99_ms"], 1) for s in servers), f"**{x(p['p99_vs_floor'])}**",
             verdict(p["rps_vs_floor"] >= BUDGET["rps_vs_floor"] and p["p99_vs_floor"] <= BUDGET["p99_vs_floor"])]
            for p in load["pages"].values()]
    return {**load, "seconds": f"{load['seconds']:g}", "servers": " / ".join(servers),
            "pages": table(["page", *(f"{s} req/s" for s in servers), "app ÷ floor", "app ÷ ceiling",
                            *(f"{s} p99 ms" for s in servers), "p99 app ÷ floor", "budget"], rows),
            "rounds_table": table(["page", "app ÷ floor by round", "errors"], [
                [p["label"], ", ".join(x(v) for v in p["rps_vs_floor_by_round"]),
                 " / ".join(str(p[s]["non_2xx_3xx"]) for s in servers)] for p in load["pages"].values()])}


def cpu(r: dict) -> dict:
    c = r["cpu"]
    return {**c, "pages": table(["page", "app CPU ms", "floor CPU ms", "app ÷ floor"], [
        [label, f(c["app"][key], 2), f(c["floor"][key], 2), f"**{x(c['ratio'][key])}**"] for key, (label, *_) in PAGES.items()])}


COLDSTART_LABELS = {
    "python": "python (interpreter only)", "django": "plain Django, template, no data",
    "floor": "plain Django + one bare PynamoDB GetItem", "app": "**app**: import leadsite.wsgi + /healthz (one GetItem)",
    "floor_inbox": "floor inbox (session + counters + Query)", "app_inbox": "**app** inbox, signed in (same 3 calls)",
}


def coldstart(r: dict) -> dict:
    c = r["coldstart"]
    prof, floor, forbidden = c["profiles"]["app"], c["profiles"]["floor"], c["variants"]["app"]["forbidden"]
    return {
        "rounds": c["rounds"], "app_vs_floor": x(c["app_vs_floor"]), "budget": BUDGET["coldstart_vs_floor"],
        "verdict": verdict(c["app_vs_floor"] <= BUDGET["coldstart_vs_floor"]),
        "inbox_vs_floor": x(c["app_inbox_vs_floor_inbox"]), "floor_vs_django": x(c["floor_vs_django"]),
        "forbidden": "**imported: " + ", ".join(forbidden) + "**" if forbidden
        else "none of them was in `sys.modules` after the first request",
        "modules": prof["modules"], "import_ms": f"{prof['total_ms']:.0f}",
        "extra": ", ".join(f"{k} {v:.0f} ms" for k, v in list(c["app_extra_import_ms_by_package"].items())[:10])
        or "nothing notable",
        "variants": table(["variant", "total ms", "to imported ms", "first request ms", "modules"], [
            [COLDSTART_LABELS[k], f(v["total_ms"]), f(v["import_ms"]), f(v["first_request_ms"]), f(v["modules"])]
            for k, v in c["variants"].items()]),
        "heaviest": table(["import (app), depth ≤ 3 under leadsite.wsgi", "depth", "cumulative ms"],
                          [[i["module"], i["depth"], f(i["ms"], 1)] for i in prof["heaviest"][:18]]),
        "packages": table(["package", "self ms, app", "self ms, floor"], [
            [k, f(v, 1), f(floor["by_package_ms"].get(k), 1)] for k, v in list(prof["by_package_ms"].items())[:15]]),
    }


def memory(r: dict) -> dict:
    m = r["memory"]
    return {"ratio": x(m["ratio"]), "budget": BUDGET["memory_vs_floor"], "verdict": verdict(m["ratio"] <= BUDGET["memory_vs_floor"]),
            "servers": table(["server", "workers' VmHWM MB", "peak MB", "master MB"], [
                [name, ", ".join(f(w["hwm_mb"], 1) for w in s["workers"]), f(s["peak_hwm_mb"], 1), f(s["master_hwm_mb"], 1)]
                for name, s in (("app", m["app"]), ("baseline (floor + ceiling)", m["baseline"]))])}


def export(r: dict) -> dict:
    ex, http, small = r["export"], r["export"].get("http"), f(r["export"]["app"]["small_rows"])
    return {
        "rounds": ex["rounds"], "small": small, "same_csv": "yes" if ex["same_csv"] else "**no**",
        "ratio": x(ex["rows_per_s_vs_floor"]), "budget": BUDGET["export_vs_floor"],
        "verdict": verdict(ex["rows_per_s_vs_floor"] >= BUDGET["export_vs_floor"]),
        "exporters": table(["exporter", "rows", "rows/s", f"peak MB, {small} rows", "peak MB, all rows", "growth MB"], [
            [name, f(e["rows"]), f(e["rows_per_s"]), f(e["hwm_mb_small"], 1), f(e["hwm_mb_full"], 1), f"{e['hwm_growth_mb']:+.1f}"]
            for name, e in (("app (`/admin/leads/export.csv`, in-process)", ex["app"]),
                            ("floor (bare PynamoDB loop, same CSV)", ex["floor"]))]),
        "http": f"\nThrough gunicorn over loopback (context): {f(http['rows'])} rows in {f(http['seconds'], 1)} s, "
                f"{f(http['rows_per_s'])} rows/s, {http['bytes'] / 1e6:.1f} MB; the worker's peak RSS grew "
                f"{http['worker_hwm_growth_mb']:+.1f} MB." if http else "",
    }


def seed(r: dict) -> dict:
    return {"rss": f(r["seed"].get("dynamodb_local_rss_mb"), 0), "sizes": table(
        ["leads", "seconds", "leads/s", "items/s", "CPU s, seed_demo", "CPU s, DynamoDB Local"],
        [[f(s["count"]), f(s["seconds"], 1), f(s["leads_per_s"]), f(s["items_per_s"]), f(s["seed_process_cpu_s"], 1),
          f(s["dynamodb_local_cpu_s"], 1)] for s in (r["seed"][str(size)] for size in r["meta"]["sizes"])])}


def writes(r: dict) -> dict:
    w, rows = r["writes"], []
    for size in w["sizes"]:
        for design, settings in w["designs"].items():
            s, shards = w["summary"][design][str(size)], settings["LEADS_TALLY_SHARDS"]
            rows.append([size, f"{design} ({shards} shard{'s' if shards != '1' else ''}, "
                         f"{settings['DYNAMODB_TRANSACTION_ATTEMPTS']} attempts)", f"{s['stored_total']} of {s['posted_total']}",
                         s["refused_503_total"], f(s["submissions_per_s"], 1), f(s["p50_ms"]), f(s["p95_ms"])])
    return {**w, **w["measured"], "bursts": table(
        ["visitors at once", "design", "stored (302)", "503", "submissions/s", "p50 ms", "p95 ms"], rows)}


# The sections after the header, in order: each is filled from the results key of its name.
SECTIONS = {"economy": economy, "load": load, "cpu": cpu, "coldstart": coldstart, "memory": memory, "export": export,
            "seed": seed, "writes": writes}
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


def before_after(before: dict, now: dict) -> dict:
    """The same figures from bench/results/before.json and this run (ratios recomputed from both runs' rounds)."""
    def value(results, get, fmt):
        try:
            return fmt(get(results))
        except (KeyError, TypeError):
            return "–"

    rows = [[label, value(before, get, fmt), value(now, get, fmt)] for label, get, fmt in BEFORE_AFTER]
    note, cpu_note = before["meta"].get("note"), before.get("cpu", {}).get("note")
    return {**before["meta"], "commit": before["meta"].get("commit", "?"), "note": f"; {note}" if note else "",
            "cpu_note": f"\nBefore's CPU figures: {cpu_note}." if cpu_note else "",
            "figures": table(["figure (ratios against the same run's baseline)", "before", "now"],
                             [row for row in rows if row[1:] != ["–", "–"]])}


def render(results: dict, *, before: dict | None = None) -> str:
    parts = re.split(r"^<!-- (\w+) -->\n", TEMPLATE.read_text(), flags=re.M)
    text = dict(zip(parts[1::2], parts[2::2]))
    fill = lambda name, fields: text[name].format_map(fields).rstrip() + "\n"  # noqa: E731
    out = [fill("header", header(results))]
    out += [fill(name, fields(results)) for name, fields in SECTIONS.items() if results.get(name)]
    if FINDINGS.is_file() and not results["meta"]["quick"]:
        out.append(FINDINGS.read_text().strip() + "\n")
    if before:
        out.append(fill("before_after", before_after(before, results)))
    misses = budgets(results)[1]
    return "\n".join(out + [fill("closing", {"closing": "Every budget above is met in this run." if not misses else
                                             "Budgets missed in this run, and by how much (the findings above say why):\n\n"
                                             + "\n".join(f"- {m}" for m in misses)
                                             + "\n\nThe per-round ratios in section 2 show how far a single run moves on "
                                             "this machine; the CPU per request table is the steadier measure of what the "
                                             "app adds to the floor."})])
