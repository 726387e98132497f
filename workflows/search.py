"""Search attributes the workflows keep current, so the Temporal UI filters by business fields."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

SA_PROJECT_ID = SearchAttributeKey.for_keyword("ProjectId")
SA_PHASE = SearchAttributeKey.for_keyword("Phase")
SA_PENDING_GATES = SearchAttributeKey.for_int("PendingGates")
SA_COST_USD = SearchAttributeKey.for_float("CostUsd")
SA_OWNER = SearchAttributeKey.for_keyword("Owner")
