"""The worker does not load the integration SDKs until an activity needs them.

Each check runs in a fresh interpreter, so what this test process imported elsewhere does not
count: the first imports the worker modules; the second connects, builds the real worker with
every integration configured (OpenAI provider, Stripe, GitHub, Slack), runs the smoke workflow
through it on the dev server and only then lists the loaded SDKs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from boardroom.devstack import REPO_ROOT

SDKS = ("stripe", "github", "slack_sdk", "openai")
# Every module under workers/, and the CLI that `boardroom worker` runs.
WORKER_MODULES = ["boardroom.cli", *sorted(f"workers.{p.stem}" for p in (REPO_ROOT / "workers").glob("[!_]*.py"))]

# Then leave at once: the Temporal runtime's threads can abort the interpreter's finalization
# (seen once: "PyGILState_Release: thread state must be current"), which is not what is tested.
_REPORT = f"print(json.dumps(sorted(m for m in {SDKS!r} if m in sys.modules)), flush=True); import os; os._exit(0)"


def _run(code: str, timeout: float = 120) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_worker_loads_no_integration_sdk() -> None:
    assert "workers.worker" in WORKER_MODULES
    imports = "\n".join(f"import {name}" for name in WORKER_MODULES)
    loaded = _run(f"import json, sys\n{imports}\n{_REPORT}")
    assert loaded == []


def test_a_running_worker_with_every_integration_configured_loads_none_until_used(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    target = dev_env.client.service_client.config.target_host
    task_queue = f"lean-{uuid.uuid4().hex[:8]}"
    loaded = _run(
        f"""
        import asyncio, json, sys
        from activities.health import PingInput
        from boardroom.client import connect
        from boardroom.settings import load_settings
        from store.db import migrate
        from workers.worker import create_worker
        from workflows.smoke import SmokeWorkflow

        settings = load_settings(
            environment="test",
            temporal_address={target!r},
            temporal_namespace={dev_env.client.namespace!r},
            task_queue={task_queue!r},
            database_url={f"sqlite:///{tmp_path / 'lean.db'}"!r},
            agent_provider="openai",
            openai_api_key="sk-test-never-called",
            openai_base_url="http://127.0.0.1:9/v1",
            stripe_api_key="sk_test_never_called",
            github_token="ghp_never_called",
            slack_bot_token="xoxb-never-called",
            secret_key="lean-secret-key",
        )
        migrate(settings.database_url)

        async def main() -> None:
            client = await connect(settings)
            async with create_worker(client, settings):
                out = await client.execute_workflow(
                    SmokeWorkflow.run, PingInput(message="lean"), id={task_queue!r}, task_queue={task_queue!r}
                )
            assert out.message == "lean", out

        asyncio.run(main())
        {_REPORT}
        """
    )
    assert loaded == []


def test_an_integration_loads_its_sdk_on_first_use() -> None:
    loaded = _run(
        f"""
        import json, sys
        from activities.integrations import IntegrationActivities
        from boardroom.settings import load_settings

        acts = IntegrationActivities(load_settings(environment="test", slack_bot_token="xoxb-test"))
        assert "slack_sdk" not in sys.modules
        acts._slack()
        {_REPORT}
        """
    )
    assert loaded == ["slack_sdk"]


# What only the activities role registers: the agents and the integrations with their SDK clients.
ACTIVITY_ONLY_MODULES = ("activities.agents", "activities.llm", "activities.integrations", "activities.channels")


def test_a_workflows_role_worker_loads_no_sdk_and_no_agent_or_integration_activities(tmp_path: Path) -> None:
    """Builds the `workflows` role's registration lists with every integration configured: the
    workflows, and no activity at all (they all run on the `activities` workers)."""
    loaded = _run(
        f"""
        import json, sys
        from boardroom.settings import load_settings
        import workers.devstack_runner, boardroom.cli
        from workers.worker import registrations

        settings = load_settings(
            environment="test",
            database_url={f"sqlite:///{tmp_path / 'lean.db'}"!r},
            agent_provider="openai",
            openai_api_key="sk-test-never-called",
            stripe_api_key="sk_test_never_called",
            github_token="ghp_never_called",
            slack_bot_token="xoxb-never-called",
            secret_key="lean-secret-key",
            worker_role="workflows",
        )
        workflows, activities = registrations(settings)
        names = sorted(a.__temporal_activity_definition.name for a in activities)
        assert names == [], names
        assert len(workflows) == 9, workflows
        print(json.dumps(sorted(m for m in {(*SDKS, *ACTIVITY_ONLY_MODULES)!r} if m in sys.modules)))
        """
    )
    assert loaded == []


def test_the_other_roles_register_what_they_run(tmp_path: Path) -> None:
    loaded = _run(
        f"""
        import json, sys
        from boardroom.settings import load_settings
        from workers.worker import registrations

        settings = load_settings(environment="test", database_url={f"sqlite:///{tmp_path / 'r.db'}"!r})
        every_workflow, every_activity = registrations(settings)  # the default role: all
        assert settings.worker_role == "all"
        workflows, activities = registrations(settings, "activities")
        assert workflows == [] and len(activities) == len(every_activity) > 8, (workflows, activities)
        lean_workflows, lean_activities = registrations(settings, "workflows")
        assert lean_workflows == every_workflow
        assert {{a.__name__ for a in lean_activities}} < {{a.__name__ for a in every_activity}}
        print(json.dumps(sorted(m for m in {ACTIVITY_ONLY_MODULES!r} if m in sys.modules)))
        """
    )
    assert loaded == sorted(ACTIVITY_ONLY_MODULES)
