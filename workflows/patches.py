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

A patch added later goes into a new baseline, which covers the older ones' patches and its own
(BASELINES, newest first): a new run records only the newest, and `patched` asks the newest first,
then each older one that covers the patch. A run recorded under an older baseline gets False for
the newer one (kept for the run) and True from its own, so its patches answer as they did — and a
patch its baseline did not know is asked on its own: False on replay, where the history has no
marker for it. So once a run has recorded a baseline, its set never changes.

The cost is on the way back: a worker from before BASELINE cannot replay a run that recorded it
(it finds no marker it knows and takes the old paths). A rollout that must keep a rollback open
first runs the workers with BOARDROOM_PATCH_BASELINE=false (`refuse_baseline`: new runs record no
baseline but a marker per patch, and leave out the patches the newest baseline brought, as the
code before did; a history that holds a baseline still answers True), then without it.

The answer for a run is fixed by the first call, and every patch is asked through `patched`
(tests/workflows/test_patches.py checks the workflow modules call nothing else), so a run never
sees a patch False and later True.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from temporalio import workflow

if TYPE_CHECKING:
    from temporalio.worker import PatchActivationInput

# The patches of 2026-12 (answered by the first baseline).
_DECEMBER = frozenset(
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

# Each baseline answers the patches that existed when it was introduced, newest first. A new run
# records the newest only; a run recorded under an older one still finds its own. Once a baseline
# has been recorded by a run its set never changes (tests/workflows/test_patches.py pins them).
BASELINES: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "patches-2026-12-06",
        _DECEMBER
        | {
            # workflows/discovery.py
            "research-finds-related",
            # workflows/project.py
            "store-writes-carry-sync",
        },
    ),
    ("patches-2026-12", _DECEMBER),
)
BASELINE, COVERED = BASELINES[0]
# The patches the newest baseline brought: with BOARDROOM_PATCH_BASELINE off a new run leaves them
# out, as the code before did.
NEW = COVERED.difference(*(covered for _, covered in BASELINES[1:]))


def patched(patch_id: str) -> bool:
    """`workflow.patched(patch_id)`, answered by a baseline for the patches it covers: the newest
    first (a new run records that one), then the older ones a recorded run may hold."""
    for baseline, covered in BASELINES:
        if patch_id in covered and workflow.patched(baseline):
            return True
    return workflow.patched(patch_id)


def refuse_baseline(ask: PatchActivationInput) -> bool:
    """The worker's patch activation callback with BOARDROOM_PATCH_BASELINE off: a new run records
    no baseline (a history that holds one still answers True) but a marker per patch, and leaves
    out the patches NEW brought, taking the paths the code before took, so a worker from before
    BASELINE can replay it."""
    return ask.patch_id not in NEW and all(ask.patch_id != baseline for baseline, _ in BASELINES)


def taken(recorded: Iterable[str], patch_id: str) -> bool:
    """Whether a run whose history holds the patch markers `recorded` (their ids) answers True for
    `patch_id`: its own marker, or a baseline that covers it."""
    found = set(recorded)
    return patch_id in found or any(patch_id in covered and baseline in found for baseline, covered in BASELINES)
