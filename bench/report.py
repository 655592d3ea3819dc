"""The results table: one JSON file with every number, and the same as Markdown for people."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


def _ms(value: Any) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _yes(flag: Any) -> str:
    return "—" if flag is None else ("**yes**" if flag else "**no**")


CONSOLE_PAGES = ("admin_changelist", "admin_change")  # bench/pages.py keys of the support console's list and claim


def due_work_ratio(deadlines: dict[str, Any]) -> float | None:
    """helpdesk's due work over ours: each command's time with the due work less its time with nothing due."""
    ours = deadlines["ours"]["seconds"] - deadlines["ours"]["idle_seconds"]
    theirs = deadlines["theirs"]["seconds"] - deadlines["theirs"]["idle_seconds"]
    return theirs / ours if ours > 0 else None


def goals(results: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(goal, measured, target, met) rows for everything with a goal."""
    rows: list[tuple[str, str, str, Any]] = []
    sweep = results.get("sweep")
    if sweep and "ratio" in sweep:
        small, large = sweep["small"], sweep["large"]
        rows.append((f"Sweep cost independent of backlog: {large['due']:,} due among {large['open_claims']:,} vs "
                     f"{small['open_claims']:,} open", f"{large['seconds']:.2f} s / {small['seconds']:.2f} s = "
                     f"{sweep['ratio']:.2f}", f"≤ {sweep['goal_ratio']}", sweep["ratio"] <= sweep["goal_ratio"]))
        used = small["index_scan_on_deadline_index"] and large["index_scan_on_deadline_index"]
        rows.append(("Sweep's due query uses claim_next_deadline_idx", "index scan" if used else "NOT the index",
                     "index scan", used))
        per_claim = large["queries"] / max(large["due"], 1)
        limit = results["meta"]["goals"].get("sweep_queries_per_claim")
        if limit is not None:
            rows.append((f"Sweep queries per due claim, amortized ({large['due']:,} due)",
                         f"{large['queries']:,} / {large['due']:,} = {per_claim:.2f}", f"≤ {limit:g}",
                         per_claim <= limit))
    page_results = results.get("pages")
    if page_results and "pages" in page_results:
        for page in page_results["pages"]:
            title = f"{page['title']}: p50 under load"
            if not page.get("available"):
                rows.append((title, "not available", f"≤ {page_results['goal_p50_ms']:.0f} ms", None))
            elif "p50_ms" in page.get("load", {}):
                rows.append((title, f"{page['load']['p50_ms']:.1f} ms", f"≤ {page_results['goal_p50_ms']:.0f} ms",
                             page.get("met")))
            else:
                rows.append((title, page.get("load", {}).get("error") or f"HTTP {page.get('status')}",
                             f"≤ {page_results['goal_p50_ms']:.0f} ms", False))
    console_goal = results["meta"]["goals"].get("console_p50_ms")
    if page_results and "pages" in page_results and console_goal is not None:
        for page in page_results["pages"]:
            if page.get("key") in CONSOLE_PAGES and "p50_ms" in page.get("load", {}):
                p50 = page["load"]["p50_ms"]
                rows.append((f"{page['title']}: p50 under load (the console's goal)", f"{p50:.1f} ms",
                             f"≤ {console_goal:.0f} ms", p50 <= console_goal and not page["load"].get("non_2xx")))
    peer = results.get("peer")
    ratio_goal = results["meta"]["goals"].get("peer_due_work_ratio")
    if peer and "deadlines" in peer and ratio_goal is not None:
        deadlines = peer["deadlines"]
        ours, theirs = deadlines["ours"], deadlines["theirs"]
        work = due_work_ratio(deadlines)
        rows.append((f"Due work alone vs django-helpdesk ({deadlines['due']:,} due, each command with and without)",
                     f"{theirs['seconds'] - theirs['idle_seconds']:.2f} s / "
                     f"{ours['seconds'] - ours['idle_seconds']:.2f} s = " + ("—" if work is None else f"{work:.1f}"),
                     f"≥ {ratio_goal:g}", work is not None and work >= ratio_goal))
    catchup = results.get("catchup")
    if catchup and "runs" in catchup:
        two = catchup["runs"][-1]
        rows.append((f"Catch-up: {catchup['due']:,} due among {catchup['open_claims']:,}, 2 workers",
                     f"{two['seconds']:.0f} s" + (f" ({two['left_due']:,} left)" if two["left_due"] else ""),
                     f"≤ {catchup['goal_seconds']:.0f} s", catchup["met"]))
    upload = results.get("upload")
    if upload and "ratio" in upload:
        rows.append(("Upload: 12 MP JPEG accepted vs bare Pillow open+save", f"{upload['prepare_ms']:.0f} ms / "
                     f"{upload['baseline_ms']:.0f} ms = {upload['ratio']:.2f}", f"≤ {upload['goal_ratio']}",
                     upload["met"]))
    return rows


def markdown(results: dict[str, Any]) -> str:  # noqa: C901 - one linear report
    meta = results["meta"]
    out = [f"# Benchmark results: {meta['size']} run of {meta['started']}", ""]
    out.append(f"Machine: {meta['cpus']} cores, {meta['memory_gb']:.0f} GB; {meta['postgres']}; Python "
               f"{meta['python']}, Django {meta['django']}; load tool: {meta['load_tool']}. Whole run: "
               f"{meta.get('total_seconds', 0) / 60:.1f} min. Phases: {', '.join(meta['phases'])}.")
    out.append("")
    if results.get("errors"):
        out += ["**Errors:**", ""] + [f"- {phase}: `{error}`" for phase, error in results["errors"].items()] + [""]

    rows = goals(results)
    if rows:
        out += ["## Goals", "", "| goal | measured | target | met |", "| --- | --- | --- | --- |"]
        out += [f"| {goal} | {measured} | {target} | {_yes(met)} |" for goal, measured, target, met in rows]
        out.append("")

    sweep = results.get("sweep")
    if sweep and "small" in sweep:
        out += ["## Deadline sweep (`claims.services.enforce_deadlines`, in-process, PostgreSQL)", "",
                f"{sweep['repeats']} sweeps per size, alternating between the two databases, each of a fresh "
                "cohort of due claims; the median counts.", "",
                "| open claims | due | sweep (median) | all runs | per due claim | queries | per due claim "
                "| what it did | left due | idle sweep |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
        for case in (sweep["small"], sweep["large"]):
            did = ", ".join(f"{k} {v:,}" for k, v in sorted(case["actions"].items()))
            runs = ", ".join(f"{s:.2f}" for s in case["runs_seconds"])
            out.append(f"| {case['open_claims']:,} | {case['due']:,} | {case['seconds']:.2f} s | {runs} s | "
                       f"{case['per_claim_ms']:.2f} ms | {case['queries']:,} | "
                       f"{case['queries'] / max(case['due'], 1):.2f} | "
                       f"{did} | {case['left_due']} | "
                       f"{case['idle_sweep_ms']:.1f} ms |")
        out += ["", f"Ratio large / small: **{sweep['ratio']:.2f}** (goal ≤ {sweep['goal_ratio']}); of the fastest "
                f"runs: {sweep['ratio_of_fastest']:.2f}.", "",
                f"The sweep's due query (captured from the sweep itself) and its plan at "
                f"{sweep['large']['open_claims']:,} open claims:", "", "```sql", sweep["large"]["due_query"], "```",
                "", "```", sweep["large"]["explain"], "```", "",
                f"At {sweep['small']['open_claims']:,} open claims:", "", "```", sweep["small"]["explain"], "```", ""]

    page_results = results.get("pages")
    if page_results and "pages" in page_results:
        out += [f"## Pages under load ({page_results['open_claims']:,} open claims)", "",
                f"gunicorn, {page_results['workers']} sync workers on 127.0.0.1; {page_results['tool']} with "
                f"{page_results['connections']} connections (closed loop), {page_results['warmup_s']:.0f} s warm-up "
                f"then {page_results['seconds']:.0f} s measured per page. Queries: one request through the test "
                "client after a warm one (session and user included); 'one request, no load' is that request's "
                "time in-process.", "",
                "| page | HTTP | queries | one request, no load | p50 | p95 | p99 | req/s | requests | errors |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for page in page_results["pages"]:
            if not page.get("available"):
                out.append(f"| {page['title']} | not available | — | — | — | — | — | — | — | — |")
                continue
            measured = page.get("load", {})
            out.append(f"| {page['title']} (`{page['path']}`) | {page.get('status')} | {page.get('queries')} | "
                       f"{_ms(page.get('single_request_ms'))} ms | "
                       f"{_ms(measured.get('p50_ms'))} ms | {_ms(measured.get('p95_ms'))} ms | "
                       f"{_ms(measured.get('p99_ms'))} ms | {_ms(measured.get('rps'))} | "
                       f"{measured.get('requests', '—')} | {measured.get('errors', 0) + measured.get('non_2xx', 0)} |")
        out.append("")
        notes = [(p["title"], p["note"]) for p in page_results["pages"] if p.get("available") and p.get("note")]
        if notes:
            out += [f"- {title}: {note}" for title, note in notes]
            out.append("")
        slow = [(p["title"], q) for p in page_results["pages"] for q in p.get("slowest_queries", [])[:1]]
        if slow:
            out += ["Slowest query of each page (one request, in-process; the JSON has the full SQL):", ""]
            out += [f"- {title}: {q['ms']:.1f} ms `{q['sql'][:200]}…`" for title, q in slow]
            out.append("")
            for title, query in slow:
                if query.get("explain"):
                    out += [f"<details><summary>Plan of the slowest query: {title}</summary>", "", "```",
                            query["explain"], "```", "", "</details>", ""]

    upload = results.get("upload")
    if upload and "ratio" in upload:
        rotated = upload["rotated"]
        out += ["## Upload path (`claims.evidence.prepare`)", "",
                f"A {upload['pixels']} JPEG of {upload['input_bytes'] / 1e6:.1f} MB with camera EXIF and GPS; "
                f"medians of {upload['repeats']} alternating runs after a warm-up. Output "
                f"{upload['output_bytes'] / 1e6:.1f} MB, thumbnail {upload['thumbnail_size'][0]} x "
                f"{upload['thumbnail_size'][1]}, GPS removed: {upload['gps_removed']}.", "",
                "| photo | prepare (sniff, strip, re-encode, thumbnail) | Pillow open + save | ratio |",
                "| --- | ---: | ---: | ---: |",
                f"| upright (orientation 1) | {upload['prepare_ms']:.0f} ms | {upload['baseline_ms']:.0f} ms | "
                f"**{upload['ratio']:.2f}** |",
                f"| to be turned (orientation 6, no goal) | {rotated['prepare_ms']:.0f} ms | "
                f"{rotated['baseline_ms']:.0f} ms | {rotated['ratio']:.2f} |", ""]

    peer = results.get("peer")
    if peer and "deadlines" in peer:
        deadlines = peer["deadlines"]
        ours, theirs = deadlines["ours"], deadlines["theirs"]
        out += [f"## The peer side by side: django-helpdesk {peer['helpdesk_version']}", "",
                f"Same volume: {deadlines['open']:,} open claims / tickets, {deadlines['due']:,} due. Each command "
                "is a fresh process (Django start-up included).", "",
                "| | command | with the due work | with nothing due | difference: the due work itself |",
                "| --- | --- | ---: | ---: | ---: |",
                f"| ours | `{ours['command']}` | {ours['seconds']:.2f} s | {ours['idle_seconds']:.2f} s | "
                f"{ours['seconds'] - ours['idle_seconds']:.2f} s |",
                f"| django-helpdesk | `{theirs['command']}` ({theirs['escalated']:,} escalated) | "
                f"{theirs['seconds']:.2f} s | {theirs['idle_seconds']:.2f} s | "
                f"{theirs['seconds'] - theirs['idle_seconds']:.2f} s |", "",
                f"Ratio helpdesk / ours, whole commands: **{deadlines['ratio_theirs_to_ours']:.2f}**; the due work "
                "alone: **" + ("—" if due_work_ratio(deadlines) is None else f"{due_work_ratio(deadlines):.1f}")
                + "**.", ""]
        lists = peer.get("lists", {})
        if lists:
            out += ["| list (staff of one seller / queue, 1 % of all) | HTTP | queries | p50 | p95 | req/s |",
                    "| --- | ---: | ---: | ---: | ---: | ---: |"]
            ours_list = lists.get("ours", {})
            if ours_list.get("available"):
                measured = ours_list.get("load", {})
                out.append(f"| ours: seller queue `{ours_list['path']}` | {ours_list.get('status')} | "
                           f"{ours_list.get('queries')} | {_ms(measured.get('p50_ms'))} ms | "
                           f"{_ms(measured.get('p95_ms'))} ms | {_ms(measured.get('rps'))} |")
            else:
                out.append("| ours: seller queue | not available | — | — | — | — |")
            for key, label in (("theirs_list", "helpdesk: ticket list page"),
                               ("theirs_data", "helpdesk: its table's data request")):
                target = lists.get(key, {})
                measured = target.get("load", {})
                out.append(f"| {label} `{target.get('path', '')[:60]}` | {target.get('status', '—')} | "
                           f"{target.get('queries', '—')} | {_ms(measured.get('p50_ms'))} ms | "
                           f"{_ms(measured.get('p95_ms'))} ms | {_ms(measured.get('rps'))} |")
            out.append("")
            if "ratio_theirs_to_ours_p50" in lists:
                out += [f"Helpdesk's list is on screen after both requests: {lists['theirs_shown_p50_ms']:.1f} ms p50 "
                        f"vs {lists['ours']['load']['p50_ms']:.1f} ms; ratio helpdesk / ours: "
                        f"**{lists['ratio_theirs_to_ours_p50']:.2f}**.", ""]

    catchup = results.get("catchup")
    if catchup and "runs" in catchup:
        out += [f"## Catching up after an outage: {catchup['due']:,} due among {catchup['open_claims']:,} open", "",
                "One beat tick sent to real Celery workers (`--pool=solo`) on Redis; the clock runs from the tick to "
                "no claim of the cohort being due. The emails the sweep queued wait in a queue of their own "
                "(sending them is not part of this phase).", "",
                "| workers | due | time | claims/s | left due | emails queued |",
                "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        for run in catchup["runs"]:
            out.append(f"| {run['workers']} | {run['due']:,} | {run['seconds']:.1f} s | {run['per_second']:,.0f} | "
                       f"{run['left_due']:,} | {run['queued_emails']:,} |")
        out += ["", f"Two workers against one: **{catchup['speedup']:.2f}×** as fast.", ""]

    loads = results.get("load")
    if loads:
        out += ["## Data load", "", f"Claims and their orders, items, claim items and log rows by COPY: "
                f"{loads['claims_seconds']:.0f} s in all for {loads['open_claims']:,} claims"
                + (f"; helpdesk tickets: {loads['helpdesk_seconds']:.0f} s." if loads.get("helpdesk_seconds") else "."),
                ""]
    return "\n".join(out) + "\n"


def write(results: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = results["meta"]["started"].replace(":", "").replace("-", "")[:15]
    name = f"{stamp}-{results['meta']['size']}"
    json_path, md_path = directory / f"{name}.json", directory / f"{name}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md_path.write_text(markdown(results))
    shutil.copyfile(json_path, directory / "latest.json")
    shutil.copyfile(md_path, directory / "latest.md")
    return json_path, md_path
