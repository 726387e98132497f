"""Routines on the real stack: Temporal Schedules on the dev server, a real worker, the API (JSON,
console page) and the CLI. A run of a routine is a task on the project's board that goes through
Producer+QA and the policy's gates (auto-approved here) and finishes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import ScheduleCalendarSpec, ScheduleRange
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.routers.routines import InvalidSchedule, schedule_spec
from boardroom.settings import Settings
from tests.api.conftest import AppClient
from tests.api.test_cli_client import cli, serve
from tests.waiting import eventually
from workers.worker import create_worker
from workflows.routine import RoutineOutput

pytestmark = pytest.mark.timeout(240)

WAIT_S = 120.0


# --- schedule text → Temporal schedule spec (no server) --------------------------------------------


@pytest.mark.parametrize(
    ("text", "every"),
    [("every 7d", timedelta(days=7)), ("24h", timedelta(hours=24)), ("Every 90 minutes", timedelta(minutes=90))],
)
def test_intervals(text: str, every: timedelta) -> None:
    kind, spec = schedule_spec(text)
    assert kind == "interval" and [i.every for i in spec.intervals] == [every] and not spec.cron_expressions


@pytest.mark.parametrize("text", ["0 9 * * MON", "*/15 8-18 * * 1-5", "30 6 1,15 JAN-MAR ?", "@daily"])
def test_cron_expressions(text: str) -> None:
    kind, spec = schedule_spec(text)
    assert kind == "cron" and spec.cron_expressions == [text] and not spec.intervals


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0 9 * *", "5 fields"),
        ("61 * * * *", "minute: 61 is outside 0-59"),
        ("0 9 * * FUNDAY", "day of week: 'FUNDAY' is not a number or a name"),
        ("0 18-9 * * *", "ends before it starts"),
        ("*/0 * * * *", "step '0'"),
        ("@sometimes", "unknown cron macro"),
        ("every 30s", "between 1 minute and 366 days"),
        ("every 2 fortnights", "unknown unit"),
        ("every day", "is not an interval"),
    ],
)
def test_bad_schedules_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        schedule_spec(text)
    assert reason in str(caught.value)


# --- the whole thing on the dev server --------------------------------------------------------------


async def operating_project(http: httpx.AsyncClient) -> str:
    created = await http.post("/projects", json={"goal": "Sell hand-painted mugs online", "auto_approve": "all"})
    assert created.status_code == 201, created.text
    pid = str(created.json()["id"])

    async def operating() -> bool:
        # The read model (what the routine routes check) says operations.
        items = (await http.get("/projects", params={"phase": "operations"})).json()["items"]
        return any(p["id"] == pid for p in items)

    await eventually(operating, "the project to operate", timeout=WAIT_S, interval=0.25)
    return pid


async def board_task(http: httpx.AsyncClient, pid: str, prefix: str) -> dict[str, Any] | None:
    tasks = (await http.get(f"/projects/{pid}")).json()["tasks"]
    return next((t for t in tasks if t["id"].startswith(prefix)), None)


async def test_routines_end_to_end(
    dev_env: WorkflowEnvironment,
    live_settings: Settings,
    live_api: AppClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = dev_env.client
    created_ids: list[str] = []
    async with create_worker(client, live_settings, task_queue=live_settings.task_queue), live_api() as http:
        routine = {
            "title": "Weekly newsletter",
            "role": "copywriter",
            "schedule": "0 9 * * MON",
            "acceptance_criteria": ["Mentions this week's new mug", "Under 300 words"],
        }
        early = await http.post("/projects", json={"goal": "A tea subscription", "auto_approve": "none"})
        not_yet = await http.post(f"/projects/{early.json()['id']}/routines", json=routine)
        assert not_yet.status_code == 409 and "once it operates" in not_yet.json()["detail"], not_yet.text
        await http.post(f"/projects/{early.json()['id']}/cancel")

        pid = await operating_project(http)
        base = f"/projects/{pid}/routines"
        try:
            # bad input: each a 4xx with its reason, nothing created
            bad = await http.post(base, json={**routine, "schedule": "0 9 * *"})
            assert bad.status_code == 422 and "malformed cron expression" in bad.json()["detail"], bad.text
            assert "5 fields" in bad.json()["detail"]
            bad = await http.post(base, json={**routine, "schedule": "every 10s"})
            assert bad.status_code == 422 and "between 1 minute" in bad.json()["detail"]
            bad = await http.post(base, json={**routine, "role": "astrologer"})
            assert bad.status_code == 422 and "unknown role 'astrologer'" in bad.json()["detail"], bad.text
            assert "copywriter" in bad.json()["detail"]
            bad = await http.post(base, json={**routine, "role": "code-reviewer"})
            assert bad.status_code == 422, "a QA role produces nothing"
            bad = await http.post(base, json={**routine, "title": "x" * 201})
            assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "title"]
            bad = await http.post(base, json={**routine, "acceptance_criteria": ["c"] * 11})
            assert bad.status_code == 422
            assert (await http.post("/projects/p-nope/routines", json=routine)).status_code == 404
            assert (await http.get(base)).json() == {"items": [], "total": 0}

            # a cron routine: a schedule in Temporal, described
            made = await http.post(base, json=routine)
            assert made.status_code == 201, made.text
            weekly = made.json()
            created_ids.append(weekly["id"])
            assert weekly["id"] == f"routine-{pid}-1" and weekly["number"] == 1
            assert weekly["schedule"] == "0 9 * * MON" and weekly["schedule_kind"] == "cron"
            assert weekly["paused"] is False and weekly["runs"] == 0 and weekly["next_run_at"]
            assert weekly["temporal_ui_url"].endswith(f"/schedules/routine-{pid}-1")
            desc = await client.get_schedule_handle(weekly["id"]).describe()
            spec = desc.schedule.spec
            # the server compiles the cron text into a calendar: Mondays at 09:00
            calendars: list[ScheduleCalendarSpec] = [*spec.calendars]
            assert [(tuple(c.hour), tuple(c.minute), tuple(c.day_of_week)) for c in calendars] == [
                ((ScheduleRange(9),), (ScheduleRange(0),), (ScheduleRange(1),))
            ]
            assert not spec.intervals
            assert desc.schedule.state.paused is False
            memo = await desc.memo()
            assert memo["title"] == "Weekly newsletter" and memo["role"] == "copywriter"
            assert getattr(desc.schedule.action, "workflow", None) == "routine"

            # an interval routine takes the next number
            made = await http.post(
                base, json={"title": "Restock report", "role": "operations-manager", "schedule": "every 7d"}
            )
            assert made.status_code == 201, made.text
            restock = made.json()
            created_ids.append(restock["id"])
            assert restock["id"] == f"routine-{pid}-2" and restock["schedule_kind"] == "interval"
            desc = await client.get_schedule_handle(restock["id"]).describe()
            assert [i.every for i in desc.schedule.spec.intervals] == [timedelta(days=7)]

            listed = (await http.get(base)).json()
            assert [r["id"] for r in listed["items"]] == [weekly["id"], restock["id"]] and listed["total"] == 2

            # run the weekly routine now: its task joins the board, goes through Producer+QA, finishes
            ran = await http.post(f"{base}/{weekly['id']}/run")
            assert ran.status_code == 202, ran.text

            async def finished() -> dict[str, Any] | None:
                task = await board_task(http, pid, "rt1-")
                return task if task and task["status"] in ("passed", "accepted", "dropped") else None

            task = await eventually(finished, "the routine's task to finish", timeout=WAIT_S, interval=0.25)
            assert re.fullmatch(r"rt1-\d{14}", task["id"]), task["id"]
            assert task["status"] in ("passed", "accepted") and task["qa_score"] is not None, task
            assert task["title"] == "Weekly newsletter" and task["role"] == "copywriter"
            assert task["deliverable_id"] and task["rounds"] >= 1
            project_page = (await http.get(f"/projects/{pid}/view")).text
            assert f'<a href="/deliverables/{task["deliverable_id"]}/view">Weekly newsletter</a>' in project_page
            assert f'href="/projects/{pid}/routines/view"' in project_page

            async def ran_once() -> dict[str, Any] | None:
                items = (await http.get(base)).json()["items"]
                return items[0] if items[0]["runs"] == 1 and items[0]["recent_workflow_ids"] else None

            shown = await eventually(ran_once, "the run in the schedule's description", timeout=30)
            run_id = shown["recent_workflow_ids"][0]
            assert run_id.startswith(f"{weekly['id']}-")
            result = await client.get_workflow_handle(run_id, result_type=RoutineOutput).result()
            assert result.task_id == task["id"] and result.status == task["status"]
            assert result.deliverable_id == task["deliverable_id"]
            deliverable = (await http.get(f"/deliverables/{task['deliverable_id']}")).json()
            assert deliverable["task_id"] == task["id"] and deliverable["role"] == "copywriter"

            # pause and resume
            paused = await http.post(f"{base}/{weekly['id']}/pause")
            assert paused.status_code == 200 and paused.json()["paused"] is True
            assert (await client.get_schedule_handle(weekly["id"]).describe()).schedule.state.paused is True
            resumed = await http.post(f"{base}/{weekly['id']}/resume")
            assert resumed.status_code == 200 and resumed.json()["paused"] is False
            assert (await client.get_schedule_handle(weekly["id"]).describe()).schedule.state.paused is False

            # unknown routines
            for rid in (f"routine-{pid}-9", "routine-p-other-1", "nonsense"):
                missing = await http.post(f"{base}/{rid}/pause")
                assert missing.status_code == 404 and "unknown routine" in missing.json()["detail"], missing.text
            assert (await http.delete(f"{base}/routine-{pid}-9")).status_code == 404

            # delete: gone from Temporal and from the list; its number is free again
            gone = await http.delete(f"{base}/{restock['id']}")
            assert gone.status_code == 204
            with pytest.raises(RPCError) as missing_schedule:
                await client.get_schedule_handle(restock["id"]).describe()
            assert missing_schedule.value.status == RPCStatusCode.NOT_FOUND
            assert [r["id"] for r in (await http.get(base)).json()["items"]] == [weekly["id"]]
            assert (await http.delete(f"{base}/{restock['id']}")).status_code == 404

            # the console page: listed, a form that needs its token, pause from a button
            page = await http.get(f"{base}/view")
            assert page.status_code == 200 and "Weekly newsletter" in page.text and weekly["id"] in page.text
            assert "<script" not in page.text and "style=" not in page.text
            token = re.search(r'name="form_token" value="([^"]+)"', page.text)
            assert token is not None
            forged = await http.post(
                f"{base}/view", data={"title": "Forged", "role": "copywriter", "schedule": "24h", "form_token": "1.x"}
            )
            assert forged.status_code == 403
            form = {
                "title": "Daily social post",
                "role": "copywriter",
                "schedule": "24h",
                "acceptance_criteria": "One image\nOne call to action",
                "form_token": token.group(1),
            }
            added = await http.post(f"{base}/view", data=form)
            assert added.status_code == 303, added.text
            daily = next(r for r in (await http.get(base)).json()["items"] if r["title"] == "Daily social post")
            created_ids.append(daily["id"])
            assert daily["id"] == f"routine-{pid}-2" and daily["acceptance_criteria"] == [
                "One image",
                "One call to action",
            ]
            wrong = await http.post(f"{base}/view", data={**form, "schedule": "0 25 * * *"})
            assert wrong.status_code == 422 and "hour: 25 is outside 0-23" in wrong.text
            pressed = await http.post(f"{base}/view/{daily['id']}/pause", data={"form_token": token.group(1)})
            assert pressed.status_code == 303
            assert (await client.get_schedule_handle(daily["id"]).describe()).schedule.state.paused is True

            # the CLI, against the same API served on a loopback port
            async with serve(live_settings) as url:
                monkeypatch.setenv("BOARDROOM_API_URL", url)
                monkeypatch.delenv("BOARDROOM_API_KEY", raising=False)
                assert await cli("routines", pid) == 0
                out = capsys.readouterr().out
                assert re.search(
                    rf"^{weekly['id']}\s+active\s+0 9 \* \* MON\s+1\s+\S+\s+copywriter\s+Weekly newsletter$", out, re.M
                ), out
                assert re.search(rf"^{daily['id']}\s+paused\s+24h\s+0\s+copywriter\s+Daily social post$", out, re.M), (
                    out
                )
                assert (
                    await cli("routine", "add", pid, "--title", "Bad", "--role", "copywriter", "--schedule", "9 * *")
                    == 2
                )
                err = capsys.readouterr().err.strip()
                assert err.startswith(f"boardroom: POST /projects/{pid}/routines: 422 schedule: malformed cron"), err
                argv = ["routine", "add", pid, "--title", "Monthly report", "--role", "analytics-lead"]
                assert await cli(*argv, "--schedule", "0 8 1 * *", "--criterion", "Revenue by week") == 0
                out = capsys.readouterr().out
                assert out.startswith(f"routine routine-{pid}-3 added: Monthly report (0 8 1 * *)"), out
                created_ids.append(f"routine-{pid}-3")
                assert await cli("routine", "resume", pid, daily["id"]) == 0
                assert f"routine {daily['id']} resumed" in capsys.readouterr().out
                assert await cli("routine", "delete", pid, f"routine-{pid}-3") == 0
                assert capsys.readouterr().out.strip() == f"routine routine-{pid}-3 deleted"
                assert await cli("routine", "pause", pid, f"routine-{pid}-3") == 2
                assert "404 unknown routine" in capsys.readouterr().err

            # once the project is cancelled, no new routine (409); the existing ones can be removed
            assert (await http.post(f"/projects/{pid}/cancel")).status_code == 202

            async def cancelled() -> bool:
                items = (await http.get("/projects", params={"status": "cancelled"})).json()["items"]
                return any(p["id"] == pid for p in items)

            await eventually(cancelled, "the project to be cancelled", timeout=WAIT_S, interval=0.25)
            late = await http.post(base, json=routine)
            assert late.status_code == 409 and "is cancelled" in late.json()["detail"], late.text
            assert (await http.post(f"{base}/{weekly['id']}/run")).status_code == 409
            assert (await http.delete(f"{base}/{daily['id']}")).status_code == 204
        finally:
            for sid in created_ids:
                try:
                    await client.get_schedule_handle(sid).delete()
                except RPCError:
                    pass
