"""Patches, one marker per run: `patched(id)` for the patches a run may meet.

Every `workflow.patched(id)` a new run calls writes a marker and, with it, an upsert of the
`TemporalChangeVersion` search attribute (the SDK's core does that): two history events and a
visibility write per patch per run. A project that reaches operations met seven of them; every
one of those paths is simply today's code.

So the patches that existed before BASELINE are answered together: the first time a run asks for
any of them it asks `workflow.patched(BASELINE)`. A new run records that one marker and takes
every patched path. A run recorded before it, whose history asked a covered patch, has no
BASELINE marker at that point: it gets False, which the SDK keeps for the rest of the run, and
each patch is then asked on its own, exactly as before — the recorded histories v1 … v6 replay
unchanged, and a live run started on older code goes on as it did. (An older run whose first
covered patch is asked only once today's worker runs it live records BASELINE there: the answer,
True, is the one the patch itself would have given live.)

The cost is on the way back: a worker from before BASELINE cannot replay a run that recorded it
(it asks each patch, finds no marker of its own and takes the old paths). A rollout that must
keep a rollback open first runs the workers with BOARDROOM_PATCH_BASELINE=false (`refuse_baseline`:
new runs record a marker per patch, as before; a history that holds BASELINE still answers True),
then without it.

The answer for a run is fixed by the first call, and every patch in COVERED is asked through
`patched` (tests/workflows/test_patches.py checks the workflow modules call nothing else), so a
run never sees a patch False and later True. A patch added after BASELINE must not be in COVERED:
a run that recorded BASELINE did not know it, and replaying that run must answer False for it
where the history has no marker of its own. New patches call `patched` too; outside COVERED it is
`workflow.patched(id)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from temporalio import workflow

if TYPE_CHECKING:
    from temporalio.worker import PatchActivationInput

# One marker for every patch in COVERED.
BASELINE = "patches-2026-12"

COVERED = frozenset(
    {
        # workflows/base.py
        "budget-refusal-typed",
        # workflows/discovery.py
        "plan-visible-before-approval",
        "related-documents",
        "plan-approve-with-edits",
        # workflows/launch.py
        "launch-site-before-publish",
        "compliance-before-go-live",
        # workflows/operations.py
        "compliance-before-improvement-publish",
        "improvement-compliance-failure-noted",
        # workflows/produce_review.py
        "deliverable-approve-with-edits",
        # workflows/project.py
        "decide-answers-before-follow-up",
        "cancel-in-activity-ends-cleanly",
        "decide-signal-refuses-internal-channels",
        "gate-notify-channels",
        "end-syncs-after-follow-ups",
        "slack-notice-per-phase",
        "auto-approve-yields-to-decision",
        "approve-with-edits",
        "gate-quorum-votes",
        "quorum-edits-stored-in-turn",
        "execution-role-budgets",
        "one-workflow",
        # workflows/role_budgets.py
        "role-budgets",
        "role-gate-decided-now",
        # workflows/routine.py
        "routine-role-budgets",
    }
)


def patched(patch_id: str) -> bool:
    """`workflow.patched(patch_id)`, answered by BASELINE for the patches in COVERED."""
    if patch_id in COVERED and workflow.patched(BASELINE):
        return True
    return workflow.patched(patch_id)


def refuse_baseline(ask: PatchActivationInput) -> bool:
    """The worker's patch activation callback with BOARDROOM_PATCH_BASELINE off: a new run never
    records BASELINE (a history that holds it still answers True), so it records a marker per
    patch, which a worker from before BASELINE can replay."""
    return ask.patch_id != BASELINE


def taken(recorded: Iterable[str], patch_id: str) -> bool:
    """Whether a run whose history holds the patch markers `recorded` (their ids) answers True for
    `patch_id`: its own marker, or BASELINE for a patch in COVERED."""
    found = set(recorded)
    return patch_id in found or (patch_id in COVERED and BASELINE in found)
