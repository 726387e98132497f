"""`boardroom project …`, `boardroom approvals`, `boardroom approve`, `boardroom deliverables`,
`boardroom deliverable`, `boardroom routines`, `boardroom routine …`, `boardroom login-link`: the CLI as an API
client.

Talks HTTP to the Boardroom API (BOARDROOM_API_URL, else the configured api_host:api_port) with
`Authorization: Bearer $BOARDROOM_API_KEY` when set. Connection errors and 4xx/5xx answers end
the command with one line (ConfigError → exit code 2).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any
from urllib.parse import quote

import httpx

from boardroom.role_budget_text import parse_role_budgets
from domain.errors import ConfigError

TERMINAL = ("completed", "failed", "cancelled")
PHASES = ("discovery", "execution", "launch", "operations")


class ApiClient:
    """A thin synchronous client; every failure becomes one readable ConfigError."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ConfigError(f"the Boardroom API at {self.base_url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ConfigError(
                f"cannot reach the Boardroom API at {self.base_url} ({type(exc).__name__}); "
                "is `boardroom up` (or `boardroom api`) running? Set BOARDROOM_API_URL to point elsewhere"
            ) from None
        if resp.status_code >= 400:
            raise ConfigError(f"{method} {path}: {resp.status_code} {error_detail(resp)}")
        return resp.json() if resp.content else None


def error_detail(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail", resp.text)
    except ValueError:
        return resp.text[:200] or resp.reason_phrase
    if isinstance(detail, list) and detail:
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
        return f"{where + ': ' if where else ''}{first.get('msg', 'invalid input')}"
    return str(detail)


def api_base_url(args: argparse.Namespace) -> str:
    explicit = os.environ.get("BOARDROOM_API_URL")
    if explicit:
        return explicit
    from boardroom.settings import load_settings

    settings = load_settings(getattr(args, "config", None))
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::", "") else settings.api_host
    return f"http://{host}:{settings.api_port}"


def client_for(args: argparse.Namespace) -> ApiClient:
    return ApiClient(api_base_url(args), os.environ.get("BOARDROOM_API_KEY") or None)


# --- rendering ---------------------------------------------------------------------------


def _usd(value: float | None) -> str:
    return f"${(value or 0):,.2f}"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*r).rstrip() for r in rows)]


def render_project(p: dict[str, Any]) -> str:
    lines = [f"{p['id']}  {p['name']}  [{p['phase']} / {p['status']}]", f"goal: {p['goal']}"]
    current = len(PHASES) if p["phase"] == "completed" else PHASES.index(p["phase"])
    marks = [f"{name} {'✓' if i < current else '●' if i == current else '·'}" for i, name in enumerate(PHASES)]
    lines.append("phases: " + " → ".join(marks))
    cost = p.get("cost", {})
    budget = cost.get("budget_usd") or 0
    pct = f" ({100 * cost.get('usd', 0) / budget:.0f}%)" if budget else ""
    lines.append(
        f"cost: {_usd(cost.get('usd'))} of {_usd(budget)}{pct} · "
        f"tokens {cost.get('tokens_in', 0)} in / {cost.get('tokens_out', 0)} out"
    )
    if p.get("error"):
        lines.append(f"error: {p['error']}")
    tasks = p.get("tasks") or []
    if tasks:
        lines += ["", "tasks:"]
        rows = [
            [
                t["id"],
                t["status"],
                "" if t.get("qa_score") is None else f"{t['qa_score']:.1f}",
                str(t.get("rounds", 0)),
                t["role"],
                t["title"],
            ]
            for t in tasks
        ]
        lines += ["  " + row for row in _table(rows, ["ID", "STATUS", "QA", "ROUNDS", "ROLE", "TITLE"])]
    gates = p.get("gates") or []
    if gates:
        lines += ["", "decisions:"]
        rows = [[g["id"], g["kind"], g["status"], g["risk"], g.get("decided_by") or "", g["title"]] for g in gates]
        lines += ["  " + row for row in _table(rows, ["ID", "KIND", "STATUS", "RISK", "BY", "TITLE"])]
        for g in gates:
            if g.get("approve_url"):
                lines.append(f"  → {g['id']} waits for you: {g['approve_url']}")
    if p["phase"] in ("operations", "completed") and p.get("kpis"):
        k = p["kpis"]
        lines += [
            "",
            f"kpis: revenue {_usd(k.get('revenue_usd'))} · orders {k.get('orders', 0)} · "
            f"refunds {k.get('refunds', 0)} · open issues {k.get('open_issues', 0)} · "
            f"improvements {k.get('improvements', 0)}",
        ]
    integrations = p.get("integrations") or []
    if integrations:
        lines.append(
            "integrations: "
            + ", ".join(f"{i['name']} {i['status']}" + (f" ({i['url']})" if i.get("url") else "") for i in integrations)
        )
    lines += ["", f"temporal: {p['temporal_ui_url']}"]
    return "\n".join(lines)


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def render_deliverable(d: dict[str, Any]) -> str:
    """One deliverable: header, the shown version's content and files, versions, QA rounds."""
    shown = d["shown_version"]
    older = f" (latest is {d['version']})" if shown != d["version"] else ""
    qa = f" · QA {_score(d['qa_score'])} ({d['scored_by']})" if d.get("qa_score") is not None else ""
    lines = [
        f"{d['id']}  {d['title']}  [{d['status']}]",
        f"task {d['task_id']} · {d['role']} · version {shown} of {d['version_count']}{older}{qa}",
        f"page: {d['page_url']}",
        "",
        d["content"].rstrip(),
        "",
    ]
    files = d.get("files") or {}
    if files:
        lines += ["files:", *(f"  {name}  ({len(text)} characters)" for name, text in sorted(files.items())), ""]
    rows = []
    for v in d["versions"]:
        changed = [f"+{v['lines_added']} -{v['lines_removed']} lines"]
        for key, label in (("files_added", "added"), ("files_removed", "removed"), ("files_changed", "changed")):
            if v.get(key):
                changed.append(f"{label} {', '.join(v[key])}")
        rows.append([str(v["version"]), str(v["document_id"]), _score(v.get("qa_score")), "; ".join(changed)])
    lines += ["versions:", *("  " + row for row in _table(rows, ["VERSION", "DOCUMENT", "QA", "CHANGED"]))]
    reviews = d.get("reviews") or []
    if reviews:
        lines += ["", "qa:"]
        for r in reviews:
            verdict = "passed" if r["passed"] else "failed"
            version = f" (version {r['version']})" if r.get("version") else ""
            lines.append(f"  round {r['round']}{version}: {r['score']:.1f} {verdict} · {r['scored_by']}")
            lines += [f"    - [{i['severity']}] {i['text']}" for i in r.get("issues") or []]
    return "\n".join(lines)


# --- commands ----------------------------------------------------------------------------


def cmd_project_new(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"goal": args.goal, "auto_approve": args.auto_approve}
    for field in ("name", "approver", "idempotency_key"):
        if getattr(args, field):
            body[field] = getattr(args, field)
    if args.budget is not None:
        body["budget_usd"] = args.budget
    if args.role_budget:
        try:
            body["role_budgets_usd"] = parse_role_budgets(args.role_budget)
        except ValueError as exc:
            raise ConfigError(f"--role-budget: {exc}") from None
    with client_for(args) as api:
        created = api.call("POST", "/projects", json=body)
        print(f"project {created['id']} started")
        print(f"  status:   {created['status_url']}")
        print(f"  temporal: {created['temporal_ui_url']}")
        deadline = time.monotonic() + max(0.0, args.wait)
        while True:
            items = api.call("GET", "/approvals", params={"status": "pending", "project_id": created["id"]})["items"]
            if items:
                gate = items[0]
                print(f"first decision: {gate['title']} ({gate['id']})")
                print(f"  approve: {gate['approve_url']}")
                break
            if time.monotonic() >= deadline:
                print(f"no decision pending yet; follow it with `boardroom project show {created['id']} --watch`")
                break
            time.sleep(0.5)
    return 0


def cmd_project_list(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    if args.phase:
        params["phase"] = args.phase
    if args.status:
        params["status"] = args.status
    with client_for(args) as api:
        page = api.call("GET", "/projects", params=params)
    if not page["items"]:
        print("no projects")
        return 0
    rows = [
        [
            p["id"],
            p["phase"],
            p["status"],
            str(p["pending_gates"]),
            f"{_usd(p['cost_usd'])}/{_usd(p['budget_usd'])}",
            p["name"],
        ]
        for p in page["items"]
    ]
    print("\n".join(_table(rows, ["ID", "PHASE", "STATUS", "PENDING", "COST", "NAME"])))
    if page["total"] > len(page["items"]):
        print(f"({len(page['items'])} of {page['total']}; use --limit)")
    return 0


def cmd_project_show(args: argparse.Namespace) -> int:
    with client_for(args) as api:
        while True:
            project = api.call("GET", f"/projects/{args.id}")
            if args.watch and sys.stdout.isatty():
                print("\033[2J\033[H", end="")
            print(render_project(project))
            if not args.watch or project["status"] in TERMINAL:
                return 0
            print(f"\n(refreshing every {args.interval:g}s; Ctrl-C to stop)")
            try:
                time.sleep(args.interval)
            except KeyboardInterrupt:
                return 0


def cmd_project_steer(args: argparse.Namespace) -> int:
    with client_for(args) as api:
        api.call("POST", f"/projects/{args.id}/steer", json={"instruction": args.instruction})
    print(f"instruction sent to {args.id}; the remaining plan will be revised")
    return 0


def cmd_project_cancel(args: argparse.Namespace) -> int:
    with client_for(args) as api:
        api.call("POST", f"/projects/{args.id}/cancel")
    print(f"cancellation requested for {args.id}")
    return 0


def cmd_approvals(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {} if args.all else {"status": "pending"}
    if args.project:
        params["project_id"] = args.project
    with client_for(args) as api:
        items = api.call("GET", "/approvals", params=params)["items"]
    if not items:
        print("nothing waits for a decision" if not args.all else "no decisions")
        return 0
    rows = [[g["id"], g["kind"], g["risk"], g["status"], g["title"]] for g in items]
    print("\n".join(_table(rows, ["GATE", "KIND", "RISK", "STATUS", "TITLE"])))
    for g in items:
        if g.get("approve_url"):
            print(f"{g['id']}: {g['approve_url']}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    decision = "reject" if args.reject else "revise" if args.revise else "approve"
    body: dict[str, Any] = {"decision": decision, "comment": args.comment or ""}
    if args.approver:
        body["approver"] = args.approver
    answers: dict[str, str] = {}
    for pair in args.answer or []:
        qid, sep, text = pair.partition("=")
        if not sep or not qid:
            raise ConfigError(f"--answer expects QUESTION_ID=TEXT, got {pair!r}")
        answers[qid] = text
    if answers:
        body["answers"] = answers
    with client_for(args) as api:
        result = api.call("POST", f"/approvals/{args.gate_id}/decision", json=body)
    print(f"{result['gate_id']} {result['status']} by {result['decided_by']} at {result['decided_at']}")
    return 0


def cmd_deliverables(args: argparse.Namespace) -> int:
    with client_for(args) as api:
        page = api.call("GET", f"/projects/{quote(args.project, safe='')}/deliverables")
    if not page["items"]:
        print("no deliverables yet")
    else:
        rows = [
            [str(d["id"]), str(d["version"]), _score(d.get("qa_score")), d["status"], d["role"], d["title"]]
            for d in page["items"]
        ]
        print("\n".join(_table(rows, ["ID", "VERSION", "QA", "STATUS", "ROLE", "TITLE"])))
    if page.get("site_url"):
        print(f"website preview: {page['site_url']}")
    print(f"everything as a zip: {page['export_url']}")
    return 0


def cmd_deliverable(args: argparse.Namespace) -> int:
    params = {"version": args.version} if args.version is not None else {}
    with client_for(args) as api:
        detail = api.call("GET", f"/deliverables/{quote(args.id, safe='')}", params=params)
    print(render_deliverable(detail))
    return 0


def _routines_path(project: str) -> str:
    return f"/projects/{quote(project, safe='')}/routines"


def render_routines(items: list[dict[str, Any]]) -> str:
    rows = [
        [
            r["id"],
            "paused" if r["paused"] else "active",
            r["schedule"],
            str(r["runs"]),
            "" if r["paused"] or not r.get("next_run_at") else r["next_run_at"],
            r["role"],
            r["title"],
        ]
        for r in items
    ]
    return "\n".join(_table(rows, ["ROUTINE", "STATE", "SCHEDULE", "RUNS", "NEXT RUN", "ROLE", "TITLE"]))


def cmd_routines(args: argparse.Namespace) -> int:
    with client_for(args) as api:
        page = api.call("GET", _routines_path(args.project))
    print(render_routines(page["items"]) if page["items"] else "no routines")
    return 0


def cmd_routine_add(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "title": args.title,
        "role": args.role,
        "schedule": args.schedule,
        "acceptance_criteria": args.criterion or [],
        "risk": args.risk,
    }
    with client_for(args) as api:
        r = api.call("POST", _routines_path(args.project), json=body)
    print(f"routine {r['id']} added: {r['title']} ({r['schedule']})")
    if r.get("next_run_at"):
        print(f"  next run: {r['next_run_at']}")
    print(f"  temporal: {r['temporal_ui_url']}")
    return 0


def cmd_routine_action(args: argparse.Namespace) -> int:
    path = f"{_routines_path(args.project)}/{quote(args.routine, safe='')}"
    with client_for(args) as api:
        if args.routine_command == "delete":
            api.call("DELETE", path)
            print(f"routine {args.routine} deleted")
            return 0
        r = api.call("POST", f"{path}/{args.routine_command}")
    done = {"pause": "paused", "resume": "resumed", "run": "started"}[args.routine_command]
    print(
        f"routine {r['id']} {done}"
        + ("" if r["paused"] or not r.get("next_run_at") else f"; next run {r['next_run_at']}")
    )
    return 0


def cmd_login_link(args: argparse.Namespace) -> int:
    """Ask the API for a one-time browser sign-in link for this key (never minted locally: the CLI
    holds the key, not the server's BOARDROOM_SECRET_KEY, and the link carries the API's public URL)."""
    if not os.environ.get("BOARDROOM_API_KEY"):
        raise ConfigError("set BOARDROOM_API_KEY to your API key: the sign-in link is made for that key's principal")
    with client_for(args) as api:
        link = api.call("POST", "/auth/login-links")
    print(link["url"])
    print(f"open it in your browser before {link['expires_at']}; it signs in once", file=sys.stderr)
    return 0


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def register(sub: Any) -> None:
    """Add the API-client commands to `boardroom`'s subparsers."""
    project = sub.add_parser("project", help="start and follow projects (through the API)")
    psub = project.add_subparsers(dest="project_command", required=True, metavar="ACTION")

    new = psub.add_parser("new", help="start a project from a goal")
    new.add_argument("goal", help="what the business should achieve")
    new.add_argument("--budget", type=_positive, help="budget in USD (default 50)")
    new.add_argument(
        "--auto-approve",
        choices=["none", "low", "medium", "all"],
        default="none",
        help="risk tiers approved by policy (default none; all = fully autonomous)",
    )
    new.add_argument(
        "--role-budget",
        action="append",
        metavar="ROLE=USD",
        help="a monthly budget for a role of the agent catalog, like copywriter=40 (repeatable)",
    )
    new.add_argument("--name", help="project name (default: from the goal)")
    new.add_argument("--approver", help="who decides the gates (default ceo)")
    new.add_argument("--idempotency-key", help="the same key returns the same project")
    new.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the first decision link")
    new.set_defaults(handler=cmd_project_new)

    ls = psub.add_parser("list", help="list projects")
    ls.add_argument("--phase", choices=[*PHASES, "completed"])
    ls.add_argument("--status", choices=["running", "waiting_approval", *TERMINAL])
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(handler=cmd_project_list)

    show = psub.add_parser("show", help="phase, tasks, decisions and cost of one project")
    show.add_argument("id")
    show.add_argument("--watch", action="store_true", help="refresh until the project ends or Ctrl-C")
    show.add_argument("--interval", type=_positive, default=2.0, help="seconds between refreshes")
    show.set_defaults(handler=cmd_project_show)

    steer = psub.add_parser("steer", help="send the project a new instruction")
    steer.add_argument("id")
    steer.add_argument("instruction")
    steer.set_defaults(handler=cmd_project_steer)

    cancel = psub.add_parser("cancel", help="end the project (status cancelled)")
    cancel.add_argument("id")
    cancel.set_defaults(handler=cmd_project_cancel)

    approvals = sub.add_parser("approvals", help="decisions waiting for you, with their links")
    approvals.add_argument("--all", action="store_true", help="decided ones too")
    approvals.add_argument("--project", help="only this project's")
    approvals.set_defaults(handler=cmd_approvals)

    approve = sub.add_parser("approve", help="decide a gate (approve by default)")
    approve.add_argument("gate_id")
    verdict = approve.add_mutually_exclusive_group()
    verdict.add_argument("--reject", action="store_true")
    verdict.add_argument("--revise", action="store_true", help="request changes (say which in --comment)")
    approve.add_argument("--comment")
    approve.add_argument("--approver")
    approve.add_argument("--answer", action="append", metavar="QUESTION_ID=TEXT", help="interview answers")
    approve.set_defaults(handler=cmd_approve)

    deliverables = sub.add_parser("deliverables", help="a project's deliverables, with QA scores")
    deliverables.add_argument("project", help="project id")
    deliverables.set_defaults(handler=cmd_deliverables)

    deliverable = sub.add_parser("deliverable", help="one deliverable: content, versions, QA report")
    deliverable.add_argument("id", help="deliverable id (from `boardroom deliverables`)")
    deliverable.add_argument("--version", type=_positive_int, help="an older version (default: latest)")
    deliverable.set_defaults(handler=cmd_deliverable)

    routines = sub.add_parser("routines", help="a project's routines (recurring work)")
    routines.add_argument("project", help="project id")
    routines.set_defaults(handler=cmd_routines)

    routine = sub.add_parser("routine", help="add, pause, resume, run or delete a routine")
    rsub = routine.add_subparsers(dest="routine_command", required=True, metavar="ACTION")
    add = rsub.add_parser("add", help="define recurring work on an operating project")
    add.add_argument("project", help="project id")
    add.add_argument("--title", required=True)
    add.add_argument("--role", required=True, help="a producing role of the agent catalog, e.g. copywriter")
    add.add_argument("--schedule", required=True, help="cron in UTC ('0 9 * * MON') or interval ('every 7d', '24h')")
    add.add_argument("--criterion", action="append", help="an acceptance criterion (repeatable)")
    add.add_argument("--risk", choices=["low", "medium", "high"], default="low")
    add.set_defaults(handler=cmd_routine_add)
    for action, text in (
        ("pause", "pause a routine"),
        ("resume", "resume a paused routine"),
        ("run", "run a routine now, once"),
        ("delete", "delete a routine"),
    ):
        p = rsub.add_parser(action, help=text)
        p.add_argument("project", help="project id")
        p.add_argument("routine", help="routine id (from `boardroom routines`)")
        p.set_defaults(handler=cmd_routine_action)

    login = sub.add_parser("login-link", help="a one-time link that signs a browser in (when API keys are set)")
    login.set_defaults(handler=cmd_login_link)
