"""The domain layer, at the bottom of every other: enumerations, value objects and typed errors
that approvals, the store, the API, the activities and the workflows all share.

Plain Python and pydantic — no Temporal, no web framework, no database — so the workflow sandbox
passes it through (workers/worker.py, PASSTHROUGH_MODULES) and any layer may import it. Each
workflow's own input and output sit beside that workflow in `workflows/`.

- `base.py`: `Model`, the base of every model (unknown fields ignored).
- `enums.py`: phases, statuses, risk tiers, gate kinds and statuses, channels, goal kinds.
- `work.py`: the agents' work (interview, research, plan, team, produce, review, KPIs, usage).
- `gates.py`: gates, decisions, edits and votes.
- `project.py`: the project's state, policy, tasks, costs and role budgets, and its input.
- `launch.py`: going live and publishing (compliance, site, repository, Stripe, Slack).
- `records.py`: what the store activities write (read model, gates, decisions, votes, budget).
- `sync.py`: the wire format of the read model's small syncs (a list with ids goes item by item).
- `errors.py`: the domain's refusals and configuration errors (mapped to HTTP in one place).
"""
