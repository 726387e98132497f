"""No single payload the API sends into a workflow is larger than a small limit.

Workflow histories hold every input, signal and update; one large payload makes every later
replay, query and continue-as-new carry it. The edge bounds each field; this client interceptor
is the backstop for their sum: a start, signal or update whose serialized argument passes
`BOARDROOM_MAX_WORKFLOW_PAYLOAD_BYTES` is refused before it is sent (the API answers 413).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.converter import PayloadConverter


class PayloadTooLarge(Exception):
    """A payload for a workflow passed the limit; nothing was sent."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} is {size} bytes; a workflow accepts at most {limit} bytes per payload")
        self.size, self.limit = size, limit


def check_payloads(converter: PayloadConverter, args: Sequence[Any], limit: int, what: str) -> None:
    for payload in converter.to_payloads(args):
        size = payload.ByteSize()
        if size > limit:
            raise PayloadTooLarge(what, size, limit)


class PayloadLimitInterceptor(Interceptor):
    def __init__(self, converter: PayloadConverter, limit: int) -> None:
        self.converter, self.limit = converter, limit

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next, self.converter, self.limit)


class _Outbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, converter: PayloadConverter, limit: int) -> None:
        super().__init__(next)
        self.converter, self.limit = converter, limit

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        check_payloads(self.converter, input.args, self.limit, f"the input of workflow {input.workflow}")
        return await super().start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        check_payloads(self.converter, input.args, self.limit, f"signal {input.signal}")
        await super().signal_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        check_payloads(self.converter, input.args, self.limit, f"update {input.update}")
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        update = input.update_workflow_input
        check_payloads(self.converter, update.args, self.limit, f"update {update.update}")
        start = input.start_workflow_input
        check_payloads(self.converter, start.args, self.limit, f"the input of workflow {start.workflow}")
        return await super().start_update_with_start_workflow(input)
