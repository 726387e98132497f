"""Token prices, cost per call, usage records and the project budget.

A `Meter` belongs to one activity attempt. It keeps the running usage of that attempt and
writes it as one `UsageRecord` under the call key `{workflow_id}:{run_id}:{activity_id}`:
the row is replaced, not added to, so an activity that Temporal retries is counted once.

The offline model costs nothing by default. Pricing it (`BOARDROOM_PRICES='{"offline": [in, out]}'`)
makes offline calls count against the budget like paid ones — how tests drive budget gates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boardroom.settings import Settings
from domain.errors import ConfigError
from domain.work import Usage
from store.db import session_scope
from store.tables import Project, UsageRecord, project_value

logger = logging.getLogger(__name__)

BUDGET_EXCEEDED = "BudgetExceeded"


def aware_now() -> datetime:
    """Timestamps for new rows: SQLModel's UTCDateTime columns refuse naive datetimes."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Price:
    """USD per one million tokens: uncached input, output, cached input."""

    input: float
    output: float
    cached: float

    @property
    def paid(self) -> bool:
        return self.input > 0 or self.output > 0 or self.cached > 0


FREE = Price(0.0, 0.0, 0.0)

# Public list prices (USD / 1M tokens). BOARDROOM_PRICES overrides or extends them.
DEFAULT_PRICES: dict[str, Price] = {
    "offline": FREE,
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o3": Price(2.00, 8.00, 0.50),
}


def parse_prices(text: str) -> dict[str, Price]:
    """`{"model": [in, out, cached]}` (cached optional, defaults to the input price)."""
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"BOARDROOM_PRICES is not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ConfigError('BOARDROOM_PRICES must be a JSON object: {"model": [in, out, cached]}')
    prices: dict[str, Price] = {}
    for model, value in raw.items():
        if (
            not isinstance(value, list)
            or len(value) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
        ):
            raise ConfigError(
                f"BOARDROOM_PRICES[{model!r}] must be [usd_per_1M_in, usd_per_1M_out, usd_per_1M_cached]"
                " with non-negative numbers"
            )
        numbers = [float(v) for v in value]
        prices[str(model)] = Price(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else numbers[0])
    return prices


class PriceTable:
    """Prices per model: defaults, then overrides; dated model names match their family."""

    def __init__(self, overrides: Mapping[str, Price] | None = None) -> None:
        self._prices = {**DEFAULT_PRICES, **(overrides or {})}
        self._warned: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> PriceTable:
        return cls(parse_prices(settings.prices))

    def price(self, model: str) -> Price:
        if model in self._prices:
            return self._prices[model]
        # "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini": the longest known prefix wins.
        family = [name for name in self._prices if model.startswith(name + "-")]
        if family:
            return self._prices[max(family, key=len)]
        if model not in self._warned:
            self._warned.add(model)
            logger.warning(
                "no price known for model %r: counted as free, so the budget does not limit it; "
                "set BOARDROOM_PRICES to price it",
                model,
            )
        return FREE

    def cost(self, model: str, tokens_in: int, tokens_out: int, cached_tokens: int = 0) -> float:
        """USD for one call; cached input tokens are part of `tokens_in`, billed at the cached rate."""
        p = self.price(model)
        cached = min(max(cached_tokens, 0), max(tokens_in, 0))
        usd = ((tokens_in - cached) * p.input + cached * p.cached + tokens_out * p.output) / 1_000_000
        return round(usd, 8)


@dataclass(frozen=True)
class CallContext:
    """Where a usage record belongs."""

    call_key: str
    project_id: str
    activity: str
    phase: str = ""
    task_id: str = ""


def current_call_key() -> str:
    """`{workflow_id}:{run_id}:{activity_id}` of the running activity (stable across its retries)."""
    if not activity.in_activity():
        # Direct calls outside a worker (scripts): every call is its own record.
        return f"local:{uuid.uuid4().hex}"
    info = activity.info()
    run_id = info.workflow_run_id or info.activity_run_id or "-"
    return f"{info.workflow_id or 'standalone'}:{run_id}:{info.activity_id}"[:300]


def upsert_usage(db_url: str, ctx: CallContext, usage: Usage) -> None:
    """Write the attempt's usage under its call key, replacing an earlier attempt's row."""
    for _ in range(2):
        with session_scope(db_url) as session:
            row = session.exec(select(UsageRecord).where(UsageRecord.call_key == ctx.call_key)).first()
            if row is None:
                row = UsageRecord(call_key=ctx.call_key, project_id=ctx.project_id, created_at=aware_now())
            row.project_id = ctx.project_id
            row.phase = ctx.phase
            row.task_id = ctx.task_id[:64]
            row.activity = ctx.activity
            row.provider = usage.provider
            row.model = usage.model[:100]
            row.tokens_in = usage.tokens_in
            row.tokens_out = usage.tokens_out
            row.cached_tokens = usage.cached_tokens
            row.cost_usd = usage.usd
            session.add(row)
            try:
                session.commit()
                return
            except IntegrityError:
                # A concurrent attempt inserted the same key first: update that row instead.
                session.rollback()
    raise RuntimeError(f"could not record usage for {ctx.call_key}")


def project_spend(db_url: str, project_id: str, *, exclude_call_key: str | None = None) -> tuple[float, float | None]:
    """(recorded spend in USD, budget in USD or None when the project has no row)."""
    with session_scope(db_url) as session:
        query = select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)).where(UsageRecord.project_id == project_id)
        if exclude_call_key is not None:
            query = query.where(UsageRecord.call_key != exclude_call_key)
        spent = float(session.exec(query).one())
        budget: float | None = project_value(session, project_id, Project.budget_usd)
        return spent, budget


def money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}"


def budget_exceeded(project_id: str, spent: float, budget: float) -> ApplicationError:
    """Non-retryable; details are (spent, budget) so the workflow can open a budget gate."""
    return ApplicationError(
        f"project {project_id} has spent {money(spent)} of its {money(budget)} budget; raise the budget to continue",
        spent,
        budget,
        type=BUDGET_EXCEEDED,
        non_retryable=True,
    )


class Meter:
    """The usage of one activity attempt, recorded after every LLM call it makes."""

    def __init__(self, db_url: str, prices: PriceTable, ctx: CallContext) -> None:
        self.db_url = db_url
        self.prices = prices
        self.ctx = ctx
        self.usage = Usage()
        self.calls = 0
        # Whether the call about to be counted was checked against the budget before it ran.
        self._checked = False

    async def ensure_budget(self, model: str) -> None:
        """Before a paid call: BudgetExceeded (non-retryable) when the project's spend reached its budget."""
        if self.prices.price(model).paid:
            others, budget = await asyncio.to_thread(
                project_spend, self.db_url, self.ctx.project_id, exclude_call_key=self.ctx.call_key
            )
            spent = round(others + self.usage.usd, 8)
            if budget is not None and spent >= budget:
                raise budget_exceeded(self.ctx.project_id, spent, budget)
        self._checked = True

    async def add(self, provider: str, model: str, tokens_in: int, tokens_out: int, cached_tokens: int = 0) -> Usage:
        """Count one call and rewrite the attempt's record; returns that call's usage.

        A provider that does not check before its call (offline: its work costs nothing real,
        unless a price makes it count) is checked here, before the call is counted: with the
        budget spent it raises BudgetExceeded and the call's result is not used.
        """
        if not self._checked:
            await self.ensure_budget(model)
        self._checked = False
        call = Usage(
            provider=provider,
            model=model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cached_tokens=cached_tokens,
            usd=self.prices.cost(model, tokens_in, tokens_out, cached_tokens),
        )
        self.calls += 1
        models = [m for m in self.usage.model.split("+") if m]
        if model not in models:
            models.append(model)
        self.usage = Usage(
            provider=provider,
            model="+".join(models),
            tokens_in=self.usage.tokens_in + tokens_in,
            tokens_out=self.usage.tokens_out + tokens_out,
            cached_tokens=self.usage.cached_tokens + cached_tokens,
            usd=round(self.usage.usd + call.usd, 8),
        )
        await asyncio.to_thread(upsert_usage, self.db_url, self.ctx, self.usage)
        return call
