"""The one place that assembles a worker: which workflows and activities it runs.

A worker has a role (`Settings.worker_role`, `BOARDROOM_WORKER_ROLE`, `boardroom worker --role`):

- `all` (the default): every workflow and every activity, one process does everything;
- `workflows`: the workflows only. It registers no activity, does not poll for activity tasks
  (`no_remote_activities`), imports no activity module and never touches the database (no
  migrations: workers/devstack_runner.py), so it stays lean;
- `activities`: every activity (agents, integrations, the store writes) and no workflow; these
  scale with agent and integration calls.

Each role imports only the modules it registers: the imports sit inside the functions below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from boardroom.observability import worker_interceptors
from boardroom.settings import Settings, WorkerRole
from workers.heartbeat import HeartbeatInterceptor

# The project's own deterministic modules, imported once by the worker and shared by every
# workflow run instead of re-imported into each run's sandbox (they hold no mutable state; the
# sandbox's runtime restrictions still apply to the calls they make). Replay tests guard it.
PASSTHROUGH_MODULES = ("domain", "workflows", "approvals.policy")


def workflow_runner(*extra_passthrough: str) -> WorkflowRunner:
    """The sandbox every worker and replayer uses: Temporal's defaults plus PASSTHROUGH_MODULES
    (and `extra_passthrough`: the bench's bare worker adds its own modules)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES, *extra_passthrough)
    )


def interceptors(client: Client, settings: Settings) -> list[Interceptor]:
    """Every worker's interceptors: heartbeats, then tracing and metrics (from the client when
    `connect()` built it)."""
    return [HeartbeatInterceptor(), *worker_interceptors(client, settings)]


def workflows() -> list[type]:
    from workflows.digest import DigestWorkflow
    from workflows.discovery import DiscoveryWorkflow
    from workflows.execution import ExecutionWorkflow
    from workflows.launch import LaunchWorkflow
    from workflows.operations import OperationsReviewWorkflow
    from workflows.produce_review import ProduceReviewWorkflow
    from workflows.project import ProjectWorkflow
    from workflows.routine import RoutineWorkflow
    from workflows.smoke import SmokeWorkflow

    return [
        ProjectWorkflow,
        DiscoveryWorkflow,
        ExecutionWorkflow,
        ProduceReviewWorkflow,
        LaunchWorkflow,
        OperationsReviewWorkflow,
        RoutineWorkflow,
        SmokeWorkflow,
        DigestWorkflow,
    ]


def activities(settings: Settings) -> list[Callable[..., Any]]:
    """Activity callables, bound to classes whose constructors take their clients."""
    from activities.agents import AgentActivities
    from activities.channels import ChannelActivities
    from activities.health import ping
    from activities.integrations import IntegrationActivities
    from activities.notify import GateNotifier
    from activities.store import StoreActivities

    slack = GateNotifier(settings)
    agents = AgentActivities(settings)
    # With a model, the compliance-officer role reviews what goes public beside the rule checks.
    reviewer = agents.compliance_findings if agents.uses_model else None
    return [
        ping,
        *StoreActivities(settings, notifier=slack).activities(),
        *ChannelActivities(settings, slack=slack).activities(),
        *agents.activities(),
        *IntegrationActivities(settings, reviewer=reviewer).activities(),
    ]


def registrations(settings: Settings, role: WorkerRole | None = None) -> tuple[list[type], list[Callable[..., Any]]]:
    """(workflows, activities) a worker of `role` (default: `settings.worker_role`) registers."""
    role = role or settings.worker_role
    if role == "workflows":
        # Workflows only: every activity (agents, integrations, the store writes) runs on the
        # `activities` workers, so this worker imports none of their SDKs.
        return workflows(), []
    if role == "activities":
        return [], activities(settings)
    return workflows(), activities(settings)


def create_worker(
    client: Client,
    settings: Settings,
    *,
    task_queue: str | None = None,
    role: WorkerRole | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    **options: Any,
) -> Worker:
    """A worker of `role` (default: `settings.worker_role`) for the project's task queue with the
    tuning knobs from settings.

    Tracing and metrics interceptors come from the client (`connect()`); a client built
    elsewhere gets them here.
    """
    chain = [*interceptors(client, settings), *options.pop("interceptors", ())]
    role = role or settings.worker_role
    registered_workflows, registered_activities = registrations(settings, role)
    if role == "workflows":
        # Workflow tasks only: it never polls for activity tasks, which the `activities` workers
        # run. The SDK refuses two workers of one client on the same task queue whose task types
        # overlap; this way they do not.
        options.setdefault("no_remote_activities", True)
    if registered_workflows and not settings.patch_baseline:
        from workflows.patches import refuse_baseline

        options.setdefault("patch_activation_callback", refuse_baseline)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=registered_workflows,
        workflow_runner=workflow_runner(),
        activities=[*registered_activities, *extra_activities],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_s),
        interceptors=chain,
        **options,
    )
