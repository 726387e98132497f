"""A stand-in for the project workflow in webhook tests: it records `business_event` signals.

Same workflow type name ("project") and signal name as the real ProjectWorkflow, so the router
is exercised exactly as in production. Kept in its own module so the workflow sandbox imports
nothing but temporalio and the shared models.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.project import BusinessEvent


@workflow.defn(name="project")
class RecordingProjectWorkflow:
    def __init__(self) -> None:
        self.events: list[BusinessEvent] = []

    @workflow.run
    async def run(self) -> None:
        # Runs until the test terminates it.
        await workflow.wait_condition(lambda: False)

    @workflow.signal(name="business_event")
    def business_event(self, event: BusinessEvent) -> None:
        self.events.append(event)

    @workflow.query(name="events")
    def recorded(self) -> list[BusinessEvent]:
        return self.events
