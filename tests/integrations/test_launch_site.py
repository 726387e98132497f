"""A whole launch with Stripe configured (the fake) and no GitHub token, on the time-skipping
server: the Stripe payment link ends up in the stored site and in the local git repository a
person clones, with no template placeholder anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.site import broken_local_links, payment_links, placeholders
from boardroom.client import data_converter
from boardroom.settings import Settings
from domain.enums import Phase, TaskStatus
from store.db import session_scope
from store.tables import Document
from tests.fakes.stripe_server import FakeStripe
from tests.integrations.test_publish import clone
from tests.workflows.helpers import approve_until, cancel_and_wait, start_project
from workers.worker import create_worker, workflows
from workflows.launch import CHECKLIST, PATCH_SITE_BEFORE_PUBLISH
from workflows.patches import BASELINE, taken

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


async def test_launch_writes_the_stripe_link_into_the_site_and_ships_it_locally(
    dev_env: WorkflowEnvironment, settings: Settings, fake_stripe: FakeStripe, task_queue: str, tmp_path: Path
) -> None:
    stripe_settings = settings.model_copy(
        update={"stripe_api_key": fake_stripe.api_key, "stripe_api_base": fake_stripe.base_url}
    )
    async with create_worker(dev_env.client, stripe_settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue)
        state = await approve_until(handle, Phase.operations)
        integrations = {i.name: i for i in state.integrations}
        assert set(integrations) == {"stripe", "site", "github", "slack"}
        (link,) = [p["url"] for p in fake_stripe.payment_links.values()]
        assert (integrations["stripe"].status, integrations["stripe"].url) == ("done", link)
        assert integrations["github"].status == "local"
        launch_tasks = {t.id: t.status for t in state.tasks if t.id in CHECKLIST}
        assert set(launch_tasks) == {"launch-stripe", "launch-site", "launch-github", "launch-slack", "launch-validate"}
        assert launch_tasks["launch-stripe"] == launch_tasks["launch-github"] == TaskStatus.passed

        with session_scope(settings.database_url) as session:
            site_doc = session.exec(
                select(Document)
                .where(Document.project_id == state.project_id, Document.kind == "site")
                .order_by(col(Document.id).desc())
            ).first()
        assert site_doc is not None and site_doc.files
        assert payment_links(site_doc.files) == [link]
        assert placeholders(site_doc.files) == []
        # The site step reports exactly the dead links the checker finds (none once the web
        # deliverable carries its terms and privacy pages).
        dead = broken_local_links(site_doc.files)
        site = integrations["site"]
        assert site.status == ("failed" if dead else "done"), site.reason
        assert all(d in site.reason for d in dead)

        repo = integrations["github"].reason.rsplit("git clone ", 1)[1].rstrip(")")
        cloned = clone(repo, tmp_path / "clone")
        assert f'href="{link}">Buy now</a>' in cloned["docs/index.html"]
        assert [name for name, text in cloned.items() if "{{" in text or "}}" in text] == []
        assert any(name.startswith("deliverables/") for name in cloned)
        await cancel_and_wait(handle)

    # The new launch (behind its patch) replays; recorded v1/v2 launches replay the old path.
    # (launch runs inside the project workflow: its history is the project's.)
    history = await dev_env.client.get_workflow_handle(handle.id).fetch_history()
    markers = [
        e.marker_recorded_event_attributes for e in history.events if e.HasField("marker_recorded_event_attributes")
    ]
    patches = {
        json.loads(p.data)["id"] for m in markers for p in m.details["patch-data"].payloads if "patch-data" in m.details
    }
    assert patches == {BASELINE} and taken(patches, PATCH_SITE_BEFORE_PUBLISH)
    replayed = await Replayer(workflows=workflows(), data_converter=data_converter()).replay_workflow(history)
    assert replayed.replay_failure is None
