"""BENCHMARKS.md from a results dict: the report is its own template, and only its marked figures are rewritten."""
import re

from .common import PAGES, ROOT, paired, ratio
from .economy import ECONOMY_PAGES
from .fresh import VARIANTS
from .package import VARIANTS as PACKAGE_VARIANTS

# The prose, table headers included, is written by hand in BENCHMARKS.md. A line `<!-- part:NAME -->` opens a part,
# left out when the run has no NAME; `<!-- bench:NAME -->…<!-- /bench -->` marks a figure or sentence made from the
# results, and a table between `<!-- table:NAME -->` and `<!-- /table -->` gets its rows (those below its header).
TEMPLATE = ROOT / "BENCHMARKS.md"
PART = re.compile(r"^<!-- part:(\w+) -->\n", re.M)
FIGURE = re.compile(r"<!-- bench:([\w-]+) -->(.*?)<!-- /bench -->", re.S)
TABLE = re.compile(r"(<!-- table:([\w-]+) -->\n.*\n.*\n)(?:\|.*\n)*(\n<!-- /table -->)")
LABELS = {key: label for key, label, *_ in ECONOMY_PAGES}
BUDGET = {"max_calls": 4, "list_read_per_shown": 1.0, "rps_vs_floor": 0.9, "p99_vs_floor": 1.2, "cpu_vs_floor": 1.15,
          "coldstart_vs_floor": 1.1, "memory_vs_floor": 1.2, "export_vs_floor": 0.8, "export_growth_mb": 5.0,
          "package_mib": 20, "package_vs_floor": 1.05}
AT_LEAST = {"rps_vs_floor", "export_vs_floor"}  # the budgets a figure must reach; it must stay within the others
# Section 2's budgets: figure, name, worst page, how a miss is short of or over it, sign, the closing note's line.
# On-demand list prices in us-east-1 (Standard table class, since 1 November 2024), dollars per million request units.
PRICE_PER_MILLION = {"read": 0.125, "write": 0.625}
LOAD_BUDGETS = [("rps_vs_floor", "requests/s", min, "short", "≥", "throughput: {} at {} the floor's requests/s"),
                ("p99_vs_floor", "p99", max, "over", "≤", "latency: {} p99 at {} the floor's")]


def f(value, digits=0) -> str:
    """A figure with thousands separators; – where nothing was measured."""
    return "–" if value is None else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def x(value) -> str:
    return "–" if value is None else f"{value:.2f}×"


def verdict(ok) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def within(value, budget: str) -> bool:
    """Whether a figure keeps its budget: at least it for throughput (AT_LEAST), at most it for the rest."""
    return value >= BUDGET[budget] if budget in AT_LEAST else value <= BUDGET[budget]


def judged(value, budget: str) -> dict:
    """A section's sentence about one budget: the ratio, the budget and the verdict."""
    return {"ratio": x(value), "budget": BUDGET[budget], "verdict": verdict(within(value, budget))}


def table(rows: list) -> str:
    """A table's rows, below the header the template gives it."""
    return "".join("| " + " | ".join(map(str, row)) + " |\n" for row in rows)


def read_per_shown(page: dict):
    """Lead items read per item shown, less a list page's one look-ahead index entry (the "Next" test), or None."""
    if not page["shown"]:
        return None
    return (page["lead_items_read"] - min(page.get("lookahead", 0), 1)) / page["shown"]


def economy_checks(economy: dict) -> dict:
    """The economy budgets over both sizes: same calls and items, calls a page, lead items read per shown, Scans."""
    small, large = (economy["pages"][str(s)] for s in economy["sizes"])
    keys = [key for key in measured_pages(economy) if key != "export"]
    per_shown = {key: [read_per_shown(p[key]) for p in (small, large)] for key, _, is_list, _ in ECONOMY_PAGES if is_list and key in keys}
    same_calls = {key: small[key]["operations"] == large[key]["operations"] for key in keys}
    # The export's calls grow with its rows; its pattern (a Query, then a BatchGetItem per 100 rows) must not.
    same_calls["export"] = all(p["export"]["operations"][1:3] == ["Query", "BatchGetItem"] for p in (small, large))
    # Items read may differ only where the small table has fewer leads to show, at the same items per item shown.
    items_differ = [key for key in keys if small[key]["items_read"] != large[key]["items_read"]]
    # (or a look-ahead entry the small table's last page has none of)
    explained = all(key == "dashboard" or ((small[key]["shown"], small[key].get("lookahead"))
                                           != (large[key]["shown"], large[key].get("lookahead"))
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
        items = ", ".join(LABELS[k] for k in e["items_differ"])
        rows += [["1", "same calls at both table sizes, every page", f"differ: {differ}" if differ else "identical",
                  not differ],
                 ["1", "same items read at both sizes", f"identical but {items} (fewer matching leads/counters at the "
                  "small size; same items per item shown)" if items else "identical", e["items_ok"]],
                 ["1", f"≤ {BUDGET['max_calls']} DynamoDB calls a page, session included",
                  f"max {e['max_calls'][0]} ({LABELS[e['max_calls'][1]]})", within(e["max_calls"][0], "max_calls")],
                 ["1", "list pages: lead items read ÷ shown = 1.0 (+ 1 look-ahead index entry a page)",
                  f"max {f(e['worst_read'], 2)}",
                  e["worst_read"] is not None and e["worst_read"] <= BUDGET["list_read_per_shown"] + 1e-9],
                 ["1", "no Scan in any request", f"{e['scans']} Scan(s)", e["scans"] == 0]]
    pages = r["load"]["pages"].values() if "load" in r else []
    for key, name, pick, _, sign, _ in LOAD_BUDGETS if pages else ():
        worst = pick(pages, key=lambda p, k=key: p[k])
        rows.append(["2", f"{name} {sign} {BUDGET[key]}× floor, each page",
                     f"{pick.__name__} {x(worst[key])} ({worst['label']})", within(worst[key], key)])
    # The closing note names every page that missed, not just the worst.
    misses += [f"{what.format(p['label'], x(p[key]))} (budget {sign} {BUDGET[key]}×; {word} by "
               f"{abs(p[key] - BUDGET[key]):.2f}×)" for p in pages for key, _, _, word, sign, what in LOAD_BUDGETS
               if not within(p[key], key)]
    if "cpu" in r:
        ratios, labels = r["cpu"]["ratio"], cpu_labels(r["cpu"])
        worst = max(ratios, key=ratios.get)
        rows.append(["2", f"CPU per request ≤ {BUDGET['cpu_vs_floor']}× floor, each page",
                     f"max {x(ratios[worst])} ({labels[worst]})", within(ratios[worst], "cpu_vs_floor")])
        misses += [f"CPU: {labels[key]} at {x(value)} the floor's (budget ≤ {BUDGET['cpu_vs_floor']}×; over by "
                   f"{value - BUDGET['cpu_vs_floor']:.2f}×)" for key, value in ratios.items()
                   if not within(value, "cpu_vs_floor")]
    if "coldstart" in r:
        c, bad = r["coldstart"], r["coldstart"]["variants"]["app"]["forbidden"]
        rows += [["3", f"cold start ≤ {BUDGET['coldstart_vs_floor']}× Django + one bare GetItem",
                  f"{x(c['app_vs_floor'])} ({f(c['variants']['app']['total_ms'])} vs "
                  f"{f(c['variants']['floor']['total_ms'])} ms)", within(c["app_vs_floor"], "coldstart_vs_floor")],
                 ["3", "production never imports moto or test helpers", ", ".join(bad) or "none imported", not bad]]
    if "package" in r:
        p, mib = r["package"], r["package"]["sizes"]["app"]["zipped"] / 2**20
        ms = {v: f(p["variants"][v]["total_ms"]) for v in p["variants"]}
        rows += [["3b", f"Lambda package ≤ {BUDGET['package_mib']} MiB zipped", f"{mib:.1f} MiB",
                  within(mib, "package_mib")],
                 *[["3b", f"package cold start ≤ {BUDGET['package_vs_floor']}× floor package: the {page}",
                    f"{x(p[key])} ({ms[app]} vs {ms[floor]} ms)", within(p[key], "package_vs_floor")]
                   for page, key, app, floor in (("form", "form_vs_floor", "app", "floor"),
                                                 ("inbox", "inbox_vs_floor_inbox", "app_inbox", "floor_inbox"))]]
    if (m := r.get("memory") or {}).get("ratio"):
        rows.append(["4", f"worker peak RSS ≤ {BUDGET['memory_vs_floor']}× floor", f"{x(m['ratio'])} "
                     f"({f(m['app']['peak_hwm_mb'], 1)} vs {f(m['baseline']['peak_hwm_mb'], 1)} MB)",
                     within(m["ratio"], "memory_vs_floor")])
    if "export" in r:
        ex, app = r["export"], r["export"]["app"]
        rows += [["5", f"export rows/s ≥ {BUDGET['export_vs_floor']}× bare PynamoDB loop",
                  x(ex["rows_per_s_vs_floor"]), within(ex["rows_per_s_vs_floor"], "export_vs_floor")],
                 ["5", "export memory does not grow with rows", f"{app['hwm_growth_mb']:+.1f} MB from "
                  f"{app['small_rows']:,} to {app['rows']:,} rows", within(app["hwm_growth_mb"], "export_growth_mb")],
                 ["5", "the same CSV as the bare loop", "byte-identical" if ex["same_csv"] else "differs",
                  ex["same_csv"]]]
    if "seed" in r:
        s = r["seed"][str(r["meta"]["sizes"][1])]
        rows.append(["6", "seed_demo rate (no budget)",
                     f"{f(s['leads_per_s'])} leads/s ({f(s['count'])} in {f(s['seconds'])} s)", None])
    if "writes" in r:
        w, top = r["writes"]["summary"], str(max(r["writes"]["sizes"]))
        after, before = w["after"][top], w["before"][top]
        rows += [["7", f"{top} visitors at once, conflicts as on AWS: 0 × 503", f"{after['refused_503_total']} of "
                  f"{after['posted_total']} (before: {before['refused_503_total']})",
                  after["refused_503_total"] == 0 and after["other_total"] == 0],
                 ["7", "write ceiling, submissions/s (no budget)",
                  f"{f(after['submissions_per_s'], 1)} (before: {f(before['submissions_per_s'], 1)})", None]]
        misses += [f"writes: {a['refused_503_total']} × 503 and {a['other_total']} other failures of "
                   f"{a['posted_total']} posts in bursts of {size} (budget: none)" for size, a in w["after"].items()
                   if a["refused_503_total"] or a["other_total"]]
    # Sections 2 and 7 listed their misses above, one line a page or burst size.
    misses[:0] = [f"§{s} {budget}: {measured}" for s, budget, measured, ok in rows
                  if ok is False and s not in ("2", "7")]
    return [[*row[:3], verdict(row[3])] for row in rows], misses


def header(r: dict) -> dict:
    meta, m = r["meta"], r["meta"]["machine"]
    quick = "\n\n> **Quick smoke run** (tiny sizes, one-second loads): the figures below are not benchmarks."
    return {"command": f"`{meta['command']}`", "date": meta["date"], "commit": f"`{meta.get('commit', '?')}`",
            "minutes": f"{meta['elapsed_s'] / 60:.1f}", "quick": quick * meta["quick"], "cpus": m["nproc"],
            "cpu": m["cpu"], "memory": m["memory_gb"], "kernel": m["kernel"], "small": f(meta["sizes"][0]),
            "loadavg": ", ".join(f"{v:.2f}" for v in m["loadavg_at_start"]), "large": f(meta["sizes"][1]),
            "versions": [["Python", m["python"]], *m["versions"].items()], "budgets": budgets(r)[0]}


def measured_pages(economy: dict) -> list[str]:
    """The pages a run measured at both sizes (a results file from before a page existed lacks it)."""
    return [key for key in LABELS if all(key in economy["pages"][str(size)] for size in economy["sizes"])]


def economy(r: dict) -> dict:
    e, same = r["economy"], economy_checks(r["economy"])["same_calls"]
    small, large = (str(s) for s in e["sizes"])
    n, m = f(int(small)), f(int(large))
    rows = []
    for key, label, is_list, _ in ECONOMY_PAGES:
        if key not in measured_pages(e):
            rows.append([label, *["–"] * 6, "not measured in this run: the page came after it"])
            continue
        a, b = e["pages"][small][key], e["pages"][large][key]
        calls = " → ".join(f"{d['op']}({d['index'] or '+'.join(d['tables'])})" for d in b["detail"][:6])
        calls += f" … ({len(b['detail'])} calls)" if len(b["detail"]) > 6 else ""
        per_shown = " / ".join(f(read_per_shown(p) if is_list else p["lead_items_read"] / p["shown"] if p["shown"]
                                 else None, 2) for p in (a, b))
        rows.append([label, f"{a['calls']} / {b['calls']}", "yes" if same[key] else "**no**",
                     *(f"{a[k]} / {b[k]}" for k in ("items_read", "lead_items_read", "shown")),
                     per_shown if is_list or key == "export" else "–", calls])
    export, signin, latency = e["pages"][large]["export"], e["signin"][large], e["latency_ms"]
    submit = e["pages"][large].get("contact_submit", {})
    return {"cells": f"`{n} leads / {m} leads`", "small": n, "large": m, "economy": rows,
            "capacity": capacity_rows(e), "prices": f"${PRICE_PER_MILLION['read']} per million read and "
            f"${PRICE_PER_MILLION['write']} per million write request units",
            "lead-units": f(submit.get("write_units"), 1),
            "lead-price": f"${price(0, submit.get('write_units')) * 1000:.4f}" if "write_units" in submit else "–",
            **tally_read_marks(e.get("tally_read")),
            "export-calls": f"{(export['calls'] - 1) * 1000 / max(export['shown'], 1):.0f}",  # less the session's
            "signin-calls": signin["calls"], "signin-ops": ", ".join(signin["operations"]),
            "latency": [[label, f(latency[small][key], 1), f(latency[large][key], 1),
                         x(ratio(latency[large][key], latency[small][key]))]
                        for key, label, *_ in ECONOMY_PAGES if key in latency[small]]}


def tally_read_marks(tally: dict | None) -> dict:
    """The status counts' read both ways in the same run: the tally-index Query, and the BatchGetItem it replaced."""
    if not tally:
        return {key: "–" for key in ("tally-shards", "tally-query-units", "tally-batch-units", "tally-cut")}
    query, batch = tally["query"]["read_units"], tally["batch"]["read_units"]
    return {"tally-shards": tally["query"]["shards"], "tally-query-units": f(query, 1), "tally-batch-units": f(batch, 1),
            "tally-cut": f"{batch / query:.0f}×" if query else "–"}


def price(read_units, write_units) -> float:
    """Dollars for one request that DynamoDB billed these units, at on-demand prices."""
    return ((read_units or 0) * PRICE_PER_MILLION["read"] + (write_units or 0) * PRICE_PER_MILLION["write"]) / 1e6


def capacity_rows(e: dict) -> list[list]:
    """Each page's read and write units at both sizes, and what 1,000 views cost at the large size."""
    rows = []
    small, large = (str(s) for s in e["sizes"])
    for key, label, *_ in ECONOMY_PAGES:
        a, b = e["pages"][small].get(key, {}), e["pages"][large].get(key, {})
        if "read_units" not in b:
            rows.append([label, "–", "–", "–", "not measured in this run"])
            continue
        rows.append([label, f"{f(a.get('read_units'), 1)} / {f(b['read_units'], 1)}",
                     f"{f(a.get('write_units'), 1)} / {f(b['write_units'], 1)}",
                     f"${price(b['read_units'], b['write_units']) * 1000:.4f}",
                     " + ".join(f"{d['op']}({d['index'] or '+'.join(d['tables'])}) {f(d['units'], 1)}"
                                for d in b["detail"][:6]) + (" …" if len(b["detail"]) > 6 else "")])
    return rows


def load(r: dict) -> dict:
    load, servers = r["load"], r["load"]["servers"]
    pages = load["pages"].values()
    return {"concurrency": load["concurrency"], "rounds": load["rounds"], "servers": " / ".join(servers),
            "wrk": f"`wrk -t{load['wrk_threads']} -c{load['concurrency']} -d{load['seconds']:g}s`",
            "load": [[p["label"], *(f(p[s]["rps"]) for s in servers), f"**{x(p['rps_vs_floor'])}**",
                      x(p["rps_vs_ceiling"]), *(f(p[s]["p99_ms"], 1) for s in servers), f"**{x(p['p99_vs_floor'])}**",
                      verdict(p["rps_vs_floor"] >= BUDGET["rps_vs_floor"]
                              and p["p99_vs_floor"] <= BUDGET["p99_vs_floor"])] for p in pages],
            "by-round": [[p["label"], ", ".join(x(v) for v in p["rps_vs_floor_by_round"]),
                        " / ".join(str(p[s]["non_2xx_3xx"]) for s in servers)] for p in pages]}


def cpu_labels(c: dict) -> dict:
    """The CPU part's pages and labels (results from before the labels were kept measured PAGES)."""
    return c.get("labels") or {key: label for key, (label, *_) in PAGES.items()}


def cpu(r: dict) -> dict:
    c, before = r["cpu"], (r.get("cpu_before") or {}).get("cpu", {})
    layers = {"before": before.get("layers") or {}, "after": c.get("layers") or {}}
    pages = list(layers["after"].get("app", {}))
    names = list(layers["after"]["app"][pages[0]]) if pages else []

    def share(run: str, side: str, page: str, layer: str | None) -> str:
        """A layer's CPU ms, and its share of the floor's whole request in the same run (load cancels out)."""
        figures, floor = layers[run].get(side, {}).get(page), layers[run].get("floor", {}).get(page)
        if not figures or not floor or (layer is not None and layer not in figures):
            return "–"  # a layer the earlier run did not measure (garbage collection)
        ms = sum(figures.values()) if layer is None else figures[layer]
        return f"{ms:.2f} ({ms / sum(floor.values()):.2f})"

    columns = [(run, side, page) for page in pages for run, side in (("before", "app"), ("before", "floor"),
                                                                     ("after", "app"), ("after", "floor"))]
    meta = (r.get("cpu_before") or {}).get("meta", {})
    return {"requests": c["requests_each"], "rounds": c["rounds"], "budget": BUDGET["cpu_vs_floor"], "cpu": [
        [label, f(c["app"][key], 2), f(c["floor"][key], 2), f"**{x(c['ratio'][key])}**",
         verdict(within(c["ratio"][key], "cpu_vs_floor"))] for key, label in cpu_labels(c).items()],
        "layers": [[layer, *(share(*column, layer) for column in columns)] for layer in names]
        + [["**all**", *(share(*column, None) for column in columns)]],
        "before-run": f"`{meta.get('commit', '?')}` on {meta.get('date', '?')}" if meta else "no earlier run",
        **collection_marks(c.get("gc"))}


def collection_marks(collections: dict | None) -> dict:
    """One full garbage collection of a warm worker: the app's as it runs (heap frozen), unfrozen, the floor's."""
    if not collections:
        return dict.fromkeys(("gc-frozen", "gc-app", "gc-app-unfrozen", "gc-floor"), "–")
    app, floor = collections["app"], collections["floor"]
    return {"gc-frozen": f(int(app["frozen_objects"])), "gc-app": f(app["full_ms"], 1),
            "gc-app-unfrozen": f(app["unfrozen_full_ms"], 1), "gc-floor": f(floor["full_ms"], 1)}


def coldstart(r: dict) -> dict:
    c = r["coldstart"]
    app, floor, forbidden = c["profiles"]["app"], c["profiles"]["floor"], c["variants"]["app"]["forbidden"]
    extra = ", ".join(f"{k} {v:.0f} ms" for k, v in list(c["app_extra_import_ms_by_package"].items())[:10])
    return {**judged(c["app_vs_floor"], "coldstart_vs_floor"), "rounds": c["rounds"],
            "inbox-ratio": x(c["app_inbox_vs_floor_inbox"]), "django-ratio": x(c["floor_vs_django"]),
            "forbidden": f"**{', '.join(forbidden)}**" if forbidden else "none", "modules": app["modules"],
            "import-ms": f"{app['total_ms']:.0f}", "extra": extra or "nothing notable",
            "variants": [[VARIANTS[k][2], f(v["total_ms"]), f(v["import_ms"]), f(v["first_request_ms"]),
                          f(v["modules"])] for k, v in c["variants"].items()],
            "imports": [[i["module"], i["depth"], f(i["ms"], 1)] for i in app["heaviest"][:18]],
            "packages": [[k, f(v, 1), f(floor["by_package_ms"].get(k), 1)]
                         for k, v in list(app["by_package_ms"].items())[:15]]}


def package(r: dict) -> dict:
    p = r["package"]
    return {**judged(p["form_vs_floor"], "package_vs_floor"), "rounds": p["rounds"],
            "date": p["measured"]["date"], "commit": f"`{p['measured']['commit']}`",
            "inbox-ratio": x(p["inbox_vs_floor_inbox"]), "limit": BUDGET["package_mib"],
            "sizes": [[name, f(s["zipped"] / 2**20, 1), f(s["unzipped"] / 1e6, 1), f(s["files"])]
                      for name, s in (("**app** (`manage.py deploy --package`)", p["sizes"]["app"]),
                                      ("floor (bench/baseline, same Zappa and pruning)", p["sizes"]["floor"]))],
            "largest": ", ".join(f"{name} {zipped / 2**20:.1f}" for name, zipped, _ in p["largest"]),
            "variants": [[PACKAGE_VARIANTS[k][3], f(v["total_ms"]), f(v["modules"])] for k, v in p["variants"].items()]}


def memory(r: dict) -> dict:
    m = r["memory"]
    return {**judged(m["ratio"], "memory_vs_floor"), "memory": [
        [name, ", ".join(f(w["hwm_mb"], 1) for w in s["workers"]), f(s["peak_hwm_mb"], 1), f(s["master_hwm_mb"], 1)]
        for name, s in (("app", m["app"]), ("baseline (floor + ceiling)", m["baseline"]))]}


def export(r: dict) -> dict:
    ex, http = r["export"], r["export"].get("http") or {}
    return {**judged(ex["rows_per_s_vs_floor"], "export_vs_floor"), "rounds": ex["rounds"],
            "small": f(ex["app"]["small_rows"]), "same": "yes" if ex["same_csv"] else "**no**",
            "http-rows": f(http.get("rows")), "http-seconds": f(http.get("seconds"), 1),
            "http-rps": f(http.get("rows_per_s")), "http-mb": f"{http.get('bytes', 0) / 1e6:.1f}",
            "http-growth": f"{http.get('worker_hwm_growth_mb', 0):+.1f}",
            "export": [[name, f(e["rows"]), f(e["rows_per_s"]), f(e["hwm_mb_small"], 1), f(e["hwm_mb_full"], 1),
                        f"{e['hwm_growth_mb']:+.1f}"] for name, e in (
                ("app (`/admin/leads/export.csv`, in-process)", ex["app"]),
                ("floor (bare PynamoDB loop, same CSV)", ex["floor"]))]}


def seed(r: dict) -> dict:
    return {"rss": f(r["seed"].get("dynamodb_local_rss_mb"), 0), "seed": [
        [f(s["count"]), f(s["seconds"], 1), f(s["leads_per_s"]), f(s["items_per_s"]), f(s["seed_process_cpu_s"], 1),
         f(s["dynamodb_local_cpu_s"], 1)] for s in (r["seed"][str(size)] for size in r["meta"]["sizes"])]}


def writes(r: dict) -> dict:
    w, rows = r["writes"], []
    for size in w["sizes"]:
        for design, settings in w["designs"].items():
            s, shards = w["summary"][design][str(size)], settings["LEADS_TALLY_SHARDS"]
            rows.append([size, f"{design} ({shards} shard{'s' if shards != '1' else ''}, "
                         f"{settings['DYNAMODB_TRANSACTION_ATTEMPTS']} attempts)",
                         f"{s['stored_total']} of {s['posted_total']}", s["refused_503_total"],
                         f(s["submissions_per_s"], 1), f(s["p50_ms"]), f(s["p95_ms"])])
    return {"hold": w["hold_ms"], "rounds": w["rounds"], "date": w["measured"]["date"],
            "commit": w["measured"]["commit"], "writes": rows}


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


def before_after(r: dict) -> dict:
    """The same figures from both runs (ratios recomputed from each run's rounds); rows neither run has are left out."""
    before, meta = r["before"], r["before"]["meta"]
    rows = [[label, *(value(run, get, fmt) for run in (before, r))] for label, get, fmt in BEFORE_AFTER]
    note = before.get("cpu", {}).get("note")
    return {"date": meta["date"], "commit": f"`{meta.get('commit', '?')}`",
            "note": f"; {meta['note']}" if meta.get("note") else "",
            "before": [row for row in rows if row[1:] != ["–", "–"]],
            "cpu-note": f"Before's CPU figures: {note}." if note else ""}


def closing(r: dict) -> dict:
    misses = "\n".join(f"- {m}" for m in budgets(r)[1])
    return {"verdicts": "Budgets missed in this run, and by how much (the findings say why; section 2's per-round "
            f"ratios show how far one run moves, the CPU table is steadier):\n\n{misses}" if misses
            else "Every budget above is met in this run."}


# Each part's figures, in the order of the report; the findings are all hand-written.
FILL = {"header": header, "economy": economy, "load": load, "cpu": cpu, "coldstart": coldstart, "package": package,
        "memory": memory, "export": export, "seed": seed, "writes": writes, "findings": lambda r: {},
        "before": before_after, "closing": closing}


def render(results: dict, *, before: dict | None = None, template: str | None = None) -> str:
    """The template's parts the run has, their marks refilled; a marker missing or unknown is an error."""
    chunks = PART.split(TEMPLATE.read_text() if template is None else template)
    parts, r = [("header", chunks[0]), *zip(chunks[1::2], chunks[2::2])], {**results, "before": before}
    if [name for name, _ in parts] != list(FILL):
        raise ValueError(f"BENCHMARKS.md has the parts {[name for name, _ in parts]}, not {list(FILL)}")
    kept = {"header": True, "closing": True, "findings": not results["meta"]["quick"]}
    out = []
    for name, text in parts:
        if not kept.get(name, bool(r.get(name))):  # a part the run skipped (the findings: a quick run)
            continue
        values = FILL[name](r)
        marked = {mark for mark, _ in FIGURE.findall(text)} | {mark for _, mark, _ in TABLE.findall(text)}
        if marked != set(values):
            raise ValueError(f"BENCHMARKS.md, part {name}: unknown markers {sorted(marked - set(values))}, "
                             f"missing {sorted(set(values) - marked)}")
        text = TABLE.sub(lambda m: m[1] + table(values[m[2]]) + m[3], FIGURE.sub(lambda m: refill(m, values), text))
        out.append(f"<!-- part:{name} -->\n" * (name != "header") + text)
    return "".join(out)


README = ROOT / "README.md"


def readme_figures(r: dict) -> dict:
    """The headline figures the README quotes (its `<!-- bench:NAME -->` marks), from a full run."""
    c, pages = r["cpu"], r.get("load", {}).get("pages", {}).values()
    e, large = r["economy"], str(r["economy"]["sizes"][1])
    inbox, submit = e["pages"][large]["inbox"], e["pages"][large]["contact_submit"]
    return {"cpu-range": f"{x(min(c['ratio'].values()))}–{x(max(c['ratio'].values()))}",
            "rps-min": x(min((p["rps_vs_floor"] for p in pages), default=None)),
            "p99-max": x(max((p["p99_vs_floor"] for p in pages), default=None)),
            "inbox-price": f"${price(inbox['read_units'], inbox['write_units']) * 1000:.4f}",
            "lead-price": f"${price(0, submit['write_units']) * 1000:.4f}", "bench-date": r["meta"]["date"]}


def refresh_readme(r: dict) -> None:
    """Rewrite the README's quoted figures from this run (its prose is hand-written, as BENCHMARKS.md's)."""
    if "read_units" not in r["economy"]["pages"][str(r["economy"]["sizes"][1])]["inbox"]:
        return  # results from before capacity units were kept: the README keeps its figures
    values, text = readme_figures(r), README.read_text()
    if {mark for mark, _ in FIGURE.findall(text)} != set(values):
        raise ValueError(f"README.md's bench marks are not {sorted(values)}")
    README.write_text(FIGURE.sub(lambda m: refill(m, values), text))


def refill(mark: re.Match, values: dict) -> str:
    """The new figure, between the whitespace the old one had (a blank line, a figure that starts a line)."""
    lead, trail = re.fullmatch(r"(\s*).*?(\s*)", mark[2], re.S).groups()
    return f"<!-- bench:{mark[1]} -->{lead}{values[mark[1]]}{trail}<!-- /bench -->"
