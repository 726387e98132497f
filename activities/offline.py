"""The offline provider: deterministic agent work with no network and no LLM, clearly labelled.

It is the default when OPENAI_API_KEY is unset, so the whole lifecycle runs on a fresh machine,
and it is built to drive every path of the engine:

- interview: 3 or 4 questions derived from the goal;
- plan: 7 catalog tasks with real dependencies — two independent chains (market research →
  product spec, pricing → legal terms) that run concurrently, joined by the build task —
  acceptance criteria per task, risk levels (pricing and legal are high risk), cost estimates
  and an Offer derived from the goal; CEO feedback and steering visibly change the plan;
- produce: a deliverable that differs per task and round, starts with the OFFLINE label and
  answers every feedback item in its revision notes;
- review: fails the first draft of about half of the tasks (chosen by a stable hash of the
  task id) and passes revisions. Offline scores never exceed 9.0 (`MAX_OFFLINE_SCORE`), so a
  pass threshold above 9 means QA never passes — the engine's escalation tests rely on it;
- analyze_kpis: 1-2 improvement tasks from the KPIs, ids unique per review.

Usage is counted approximately (characters / 4) as provider "offline", model "offline", $0.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from temporalio import activity

from activities.catalog import Catalog
from activities.planning import (
    Draft,
    KpiDraft,
    ReviewDraft,
    improvement_ids,
    slug,
    stable_hash,
    validate_plan,
)
from activities.usage import Meter
from workflows.models import (
    InterviewInput,
    KpiInput,
    Offer,
    Plan,
    PlanInput,
    ProduceInput,
    Question,
    ResearchInput,
    ReviewInput,
    ReviewIssue,
    Risk,
    TaskSpec,
)

OFFLINE_LABEL = "> Written by Boardroom's OFFLINE provider (deterministic, no LLM)"
OFFLINE_MODEL = "offline"
MAX_OFFLINE_SCORE = 9.0
# Which first drafts fail QA: stable_hash(QA_SALT, task_id) is even. With this salt 3 of the 7
# launch tasks fail first (legal-terms, build, launch-content); changing it changes test expectations.
QA_SALT = "boardroom-qa"
GUIDANCE_HEADING = "## CEO guidance"
REVISION_HEADING = "## Revision notes"

_logger = logging.getLogger(__name__)

# --- reading the goal ------------------------------------------------------------------------

_LEAD = {
    "sell",
    "selling",
    "launch",
    "launching",
    "build",
    "building",
    "create",
    "creating",
    "start",
    "starting",
    "make",
    "making",
    "run",
    "running",
    "open",
    "opening",
    "offer",
    "offering",
    "grow",
    "design",
    "write",
    "publish",
    "i",
    "we",
    "want",
    "to",
    "would",
    "like",
}
_FILLER = {"a", "an", "the", "my", "our", "some", "new", "online", "small", "simple"}
_STOP = {
    "for",
    "to",
    "that",
    "which",
    "with",
    "in",
    "on",
    "at",
    "by",
    "from",
    "and",
    "so",
    "who",
    "where",
    "via",
    "using",
    "of",
    "aimed",
    "targeting",
}
_PRICE = re.compile(r"\$\s?(\d{1,5}(?:\.\d{1,2})?)|(\d{1,5}(?:\.\d{1,2})?)\s?(?:usd|dollars)\b", re.IGNORECASE)
_PRICE_LADDER = (19.0, 29.0, 49.0, 79.0)

# Free text (feedback, steering) → the catalog role that should act on it. First match wins.
_KEYWORD_ROLES: list[tuple[tuple[str, ...], str, str, Risk]] = [
    (
        ("price", "pricing", "cheaper", "discount", "subscription", "tier", "tiers"),
        "pricing-strategist",
        "pricing",
        Risk.high,
    ),
    (
        ("legal", "terms", "privacy", "gdpr", "compliance", "lawyer", "contract"),
        "legal-counsel",
        "legal",
        Risk.high,
    ),
    (("seo", "search", "blog", "keywords", "keyword"), "seo-specialist", "seo", Risk.low),
    (
        ("marketing", "ads", "campaign", "social", "instagram", "tiktok", "newsletter", "email", "launch"),
        "growth-marketer",
        "marketing",
        Risk.medium,
    ),
    (("design", "brand", "logo", "colour", "color", "look"), "brand-designer", "design", Risk.low),
    (
        ("website", "landing", "page", "app", "code", "checkout", "api", "mobile"),
        "web-developer",
        "code",
        Risk.medium,
    ),
    (
        ("support", "customers", "customer", "onboarding", "faq", "help"),
        "customer-success-manager",
        "support",
        Risk.low,
    ),
    (
        ("finance", "forecast", "budget", "cost", "costs", "revenue", "margin"),
        "financial-analyst",
        "financials",
        Risk.medium,
    ),
    (("sales", "partner", "partners", "outreach", "b2b", "wholesale"), "sales-lead", "sales", Risk.medium),
    (
        ("research", "competitor", "competitors", "market", "survey"),
        "market-researcher",
        "research",
        Risk.low,
    ),
    (
        ("operations", "fulfilment", "fulfillment", "shipping", "supplier", "vendor"),
        "operations-manager",
        "operations",
        Risk.low,
    ),
]
_DEFAULT_ROLE = ("business-strategist", "strategy", Risk.medium)
_SOFTWARE = {"app", "saas", "api", "software", "platform", "tool", "plugin", "extension", "service", "bot"}


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9'\-]*", text)


def short(text: str, limit: int = 80) -> str:
    """First sentence of a text, cut at a word boundary."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    if len(first) <= limit:
        return first.rstrip(".!?")
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def product_name(goal: str) -> str:
    """A product name from the goal: a quoted name, else the object of its first verb."""
    quoted = re.search(r'"([^"]{3,60})"|“([^”]{3,60})”', goal)
    if quoted:
        return (quoted.group(1) or quoted.group(2)).strip()
    words = _words(goal)
    i = 0
    while i < len(words) and words[i].lower() in _LEAD | _FILLER:
        i += 1
    picked: list[str] = []
    for word in words[i:]:
        low = word.lower()
        if low in _STOP:
            break
        if low in _FILLER:
            continue
        picked.append(word if word.isupper() else word[:1].upper() + word[1:])
        if len(picked) == 4:
            break
    return " ".join(picked) or "Launch Offer"


def launch_price(goal: str, answers: dict[str, str] | None = None) -> float:
    """A price named in the goal or the CEO's answers, else a stable pick from a price ladder."""
    for text in [goal, *(answers or {}).values()]:
        match = _PRICE.search(text)
        if match:
            value = float(match.group(1) or match.group(2))
            if value > 0:
                return round(value, 2)
    return _PRICE_LADDER[stable_hash("price", goal) % len(_PRICE_LADDER)]


def is_software(goal: str) -> bool:
    return bool({w.lower() for w in _words(goal)} & _SOFTWARE)


def role_for_text(text: str) -> tuple[str, str, Risk]:
    """The catalog role, deliverable kind and risk that fit a free-text instruction."""
    words = {w.lower() for w in _words(text)}
    for keywords, role, kind, risk in _KEYWORD_ROLES:
        if words & set(keywords):
            return role, kind, risk
    return _DEFAULT_ROLE


def _estimate(task_id: str, risk: Risk) -> float:
    base = 0.02 + (stable_hash("cost", task_id) % 6) / 100
    return round(base * (2 if risk == Risk.high else 1), 2)


def _task(
    tid: str,
    title: str,
    role: str,
    kind: str,
    risk: Risk,
    description: str,
    criteria: list[str],
    depends_on: list[str] | None = None,
) -> TaskSpec:
    return TaskSpec(
        id=tid,
        title=title,
        role=role,
        description=description,
        deliverable_kind=kind,
        depends_on=depends_on or [],
        acceptance_criteria=criteria,
        risk=risk,
        cost_estimate_usd=_estimate(tid, risk),
    )


def base_tasks(goal: str, answers: dict[str, str]) -> list[TaskSpec]:
    """The launch plan: chain A (research → spec) and chain B (pricing → legal) meet at the build."""
    product = product_name(goal)
    price = launch_price(goal, answers)
    customer = next(iter(answers.values()), "") if answers else ""
    who = f" for {short(customer, 60)}" if customer else ""
    builder, build_title = (
        ("backend-engineer", f"MVP service and checkout for {product}")
        if is_software(goal)
        else ("web-developer", f"Landing page and checkout for {product}")
    )
    offer = f" Offer: {product} at ${price:g}."
    tasks = [
        _task(
            "market-research",
            f"Market and competitor research for {product}",
            "market-researcher",
            "research",
            Risk.low,
            f"Size the market{who}, map competitors and their prices, and state what it means for {product}.",
            [
                "Names at least three competitors with their price",
                "Sizes the target segment with stated assumptions",
                "Ends with implications for the offer and its price",
            ],
        ),
        _task(
            "product-spec",
            f"Product definition for {product}",
            "product-manager",
            "spec",
            Risk.medium,
            f"One-page spec for v1 of {product}: problem, users, scope, user stories, success metrics.",
            [
                "Defines a v1 scope small enough to ship in two weeks",
                "Lists user stories with acceptance criteria",
                "States measurable success metrics for the first 90 days",
            ],
            ["market-research"],
        ),
        _task(
            "pricing",
            f"Launch price and packaging for {product}",
            "pricing-strategist",
            "pricing",
            Risk.high,
            f"Set the launch price (the goal suggests about ${price:g}), packaging, discounts and refund rules.",
            [
                f"Recommends a launch price near ${price:g} with its reasoning",
                "Defines discount and refund rules",
                "Shows the margin after payment fees and refunds",
            ],
        ),
        _task(
            "legal-terms",
            "Terms of service, refund and privacy policy",
            "legal-counsel",
            "legal",
            Risk.high,
            f"Plain-language terms, refund policy matching the pricing rules, and a privacy policy for {product}.",
            [
                "The refund policy matches the pricing task's refund rules",
                "Lists the personal data collected and why",
                "Lists what a lawyer must check before go-live",
            ],
            ["pricing"],
        ),
        _task(
            "build",
            build_title,
            builder,
            "code",
            Risk.medium,
            f"Build what customers see: the offer, the price and one call to action to the payment link for {product}.",
            [
                "States the offer and the price above the fold",
                "Links the call to action to the payment link",
                "Links the terms and privacy policy",
                "Includes a README with how to run and deploy it",
            ],
            ["product-spec", "legal-terms"],
        ),
        _task(
            "launch-content",
            f"Launch announcement and SEO copy for {product}",
            "copywriter",
            "content",
            Risk.medium,
            "The launch announcement, page titles and meta descriptions, and three social posts.",
            [
                "Announcement states who it is for, the price and the link",
                "Gives a title and meta description for each page",
                "Includes three ready-to-post social posts",
            ],
            ["build"],
        ),
        _task(
            "support-playbook",
            f"Customer support playbook for {product}",
            "customer-success-manager",
            "support",
            Risk.low,
            "Onboarding to first value, the top questions with answers, and how refunds are handled.",
            [
                "Answers the ten most likely customer questions",
                "Defines response-time targets and escalation",
                "Describes the refund handling steps",
            ],
            ["product-spec"],
        ),
    ]
    return [t.model_copy(update={"description": t.description + offer}) for t in tasks]


def reprice(tasks: list[TaskSpec], old: float, new: float, done: set[str]) -> list[TaskSpec]:
    """The CEO named a new price: remaining tasks' briefs and criteria quote it."""
    if old == new:
        return tasks

    def swap(text: str) -> str:
        return re.sub(rf"\${re.escape(f'{old:g}')}(?![\d.])", f"${new:g}", text)

    return [
        t
        if t.id in done
        else t.model_copy(
            update={"description": swap(t.description), "acceptance_criteria": [swap(c) for c in t.acceptance_criteria]}
        )
        for t in tasks
    ]


def _join_task(tasks: list[TaskSpec], done: set[str]) -> TaskSpec | None:
    """The not-yet-done task with the most dependencies: where parallel work comes together."""
    candidates = [t for t in tasks if t.id not in done and len(t.depends_on) >= 2]
    return max(candidates, key=lambda t: len(t.depends_on)) if candidates else None


def _with_criterion(task: TaskSpec, criterion: str) -> TaskSpec:
    if criterion in task.acceptance_criteria:
        return task
    return task.model_copy(update={"acceptance_criteria": [*task.acceptance_criteria, criterion]})


def apply_feedback(tasks: list[TaskSpec], feedback: list[str], revision: int) -> list[TaskSpec]:
    """CEO asked to revise the plan: each point becomes a task the join task waits for."""
    tasks = list(tasks)
    for point in feedback:
        point = point.strip()
        if not point:
            continue
        tid = f"feedback-{slug(point, 24)}-{stable_hash('feedback', point) % 1000:03d}"
        if any(t.id == tid for t in tasks):
            continue
        role, kind, risk = role_for_text(point)
        tasks.append(
            _task(
                tid,
                f"Address CEO feedback: {short(point, 70)}",
                role,
                kind,
                risk,
                f"Plan revision {revision}: the CEO asked — “{point}”. Change the work so this is visibly addressed.",
                [f"Directly addresses the CEO's feedback: {point}", "States what changed and why"],
            )
        )
        join = _join_task(tasks, set())
        if join is not None and join.id != tid:
            joined = join.model_copy(update={"depends_on": [*join.depends_on, tid]})
            joined = _with_criterion(joined, f"Incorporates the CEO's feedback: {point}")
            tasks = [joined if t.id == join.id else t for t in tasks]
    return tasks


def apply_steering(tasks: list[TaskSpec], steering: list[str], done: set[str]) -> list[TaskSpec]:
    """CEO steered mid-execution: done tasks stay exactly; each instruction adds a task and
    becomes a criterion of every remaining task."""
    tasks = list(tasks)
    for instruction in steering:
        instruction = instruction.strip()
        if not instruction:
            continue
        tid = f"steer-{slug(instruction, 24)}-{stable_hash('steer', instruction) % 1000:03d}"
        if not any(t.id == tid for t in tasks):
            role, kind, risk = role_for_text(instruction)
            tasks.append(
                _task(
                    tid,
                    f"Apply CEO steering: {short(instruction, 70)}",
                    role,
                    kind,
                    risk,
                    f"The CEO steered the project: “{instruction}”. Deliver the change this requires.",
                    [
                        f"Implements the CEO's instruction: {instruction}",
                        "Lists which earlier deliverables change",
                    ],
                    sorted(t.id for t in tasks if t.id in done and t.deliverable_kind == kind),
                )
            )
        criterion = f"Reflects the CEO's instruction: {instruction}"
        tasks = [t if t.id in done or t.id == tid else _with_criterion(t, criterion) for t in tasks]
    return tasks


# --- deliverable bodies per kind -------------------------------------------------------------


@dataclass(frozen=True)
class Brief:
    """What a deliverable body is written from."""

    task: TaskSpec
    product: str
    price: float
    goal: str


Section = Callable[[Brief], list[str]]


def _research(b: Brief) -> list[str]:
    low, high = round(b.price * 0.6, 2), round(b.price * 1.8, 2)
    return [
        "## Market",
        f"- Segment: people who want {short(b.goal, 70).lower()}.",
        "- Estimate (assumption): 40,000 reachable buyers in year one via search and communities; "
        "a 0.5% conversion gives 200 orders.",
        "## Competitors",
        "| competitor archetype | offer | price |\n|---|---|---|\n"
        f"| Marketplace seller | generic version | ${low:g} |\n"
        f"| Specialist brand | premium bundle | ${high:g} |\n"
        "| Free blog/templates | partial, ad-supported | $0 |",
        "## Implications",
        f"- Position {b.product} between the free and the premium options; ${b.price:g} is defensible.",
        "- Win on specificity for the segment and on a fast, clear purchase.",
    ]


def _spec(b: Brief) -> list[str]:
    return [
        "## Problem",
        f"{short(b.goal, 120)} — today buyers piece this together themselves.",
        "## v1 scope (two weeks)",
        f"- In: the core {b.product} offer, checkout at ${b.price:g}, confirmation email, refund request form.",
        "- Out: accounts, subscriptions, localisation.",
        "## User stories",
        "- As a visitor I understand the offer in five seconds — *AC: headline + price above the fold*.",
        "- As a buyer I pay in under a minute — *AC: one-page checkout, receipt by email*.",
        "## Success metrics (90 days)",
        "- 3% visitor-to-order conversion; refund rate under 5%; 20 orders in the first month.",
    ]


def _pricing(b: Brief) -> list[str]:
    fee = round(b.price * 0.029 + 0.30, 2)
    return [
        "## Recommendation",
        f"- Launch price: **${b.price:g}** one-off for {b.product}.",
        f"- Launch discount: 20% for the first 50 buyers (${round(b.price * 0.8, 2):g}).",
        "## Refund rules",
        "- Full refund within 14 days, no questions asked; one refund per customer.",
        "## Margin",
        f"- Payment fee ≈ ${fee:g} (2.9% + $0.30); assumed refunds 5% "
        f"→ net ≈ ${round((b.price - fee) * 0.95, 2):g} per order.",
        "## Test after launch",
        f"- After 100 visitors per variant, compare ${b.price:g} with ${round(b.price * 1.3, 2):g}.",
    ]


def _legal(b: Brief) -> list[str]:
    return [
        "*Not legal advice: a qualified lawyer must review this before go-live.*",
        "## Terms of service (summary)",
        f"- What is sold: {b.product}, ${b.price:g}, delivered digitally after payment.",
        "- Liability limited to the price paid; governing law: the seller's jurisdiction [check].",
        "## Refund policy",
        "- Full refund within 14 days of purchase (matches the pricing rules).",
        "## Privacy",
        "- Collected: name, email, payment confirmation (card data stays with the payment provider).",
        "- Why: delivery, receipts, support. Retention: 6 years for tax records, then deleted.",
        "## Lawyer checklist",
        "- Consumer withdrawal rights in each selling region; VAT/sales tax; cookie consent.",
    ]


def _code(b: Brief) -> list[str]:
    return [
        "## What was built",
        f"- `site/index.html`: the offer for {b.product}, ${b.price:g} above the fold, one call to action.",
        "- The call to action points to `{{PAYMENT_LINK}}`, replaced at launch with the Stripe payment link.",
        "- Footer links to `terms.html` and `privacy.html`.",
        "- `README.md`: how to preview locally and deploy to any static host.",
    ]


def _content(b: Brief) -> list[str]:
    return [
        "## Announcement",
        f"Introducing **{b.product}** — {short(b.goal, 100).lower()}. Available today for ${b.price:g}.",
        "## Page titles and meta descriptions",
        f"- Home — “{b.product} | ${b.price:g}” — “{short(b.goal, 120)}.”",
        f"- Terms — “Terms | {b.product}” — “How buying {b.product} works, refunds included.”",
        "## Social posts",
        f"1. We built {b.product} because {short(b.goal, 60).lower()} was harder than it should be.",
        f"2. {b.product} is live: ${b.price:g}, 14-day refunds, no account needed.",
        f"3. What early buyers do first with {b.product} — and what we changed because of them.",
    ]


def _support(b: Brief) -> list[str]:
    return [
        "## Onboarding",
        f"- Receipt email with the download/access link for {b.product} and one tip for a first win.",
        "## Top questions",
        "- Where is my purchase? · Can I get an invoice? · How do refunds work? · Can I share it? · "
        "Is there an update? · Which devices? · Is my data safe? · Discounts? · Bulk licences? · Contact?",
        "## Targets and escalation",
        "- First reply within 24 hours; payment or legal questions escalate to the CEO.",
        "## Refunds",
        "- Verify the order, refund in the payment dashboard, reply with a confirmation, log the reason.",
    ]


def _generic(b: Brief) -> list[str]:
    return [
        "## Approach",
        f"- Scope: {b.task.description or b.task.title}",
        f"- Applies to {b.product} at ${b.price:g}; goal: {short(b.goal, 100)}.",
        "## Plan of work",
        "1. State the current situation and the target.",
        "2. List the concrete changes with owners and dates.",
        "3. Define the metric that shows it worked, and when to check it.",
    ]


_SECTIONS: dict[str, Section] = {
    "research": _research,
    "spec": _spec,
    "pricing": _pricing,
    "legal": _legal,
    "code": _code,
    "content": _content,
    "seo": _content,
    "support": _support,
}


def _site_files(product: str, price: float, goal: str, round_: int) -> dict[str, str]:
    html = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{product} | ${price:g}</title>
  <meta name="description" content="{short(goal, 150)}">
  <!-- Written by Boardroom's OFFLINE provider (deterministic, no LLM), round {round_} -->
</head>
<body>
  <main>
    <h1>{product}</h1>
    <p>{short(goal, 200)}</p>
    <p><strong>${price:g}</strong> — 14-day refunds.</p>
    <a href="{{{{PAYMENT_LINK}}}}" role="button">Buy {product}</a>
  </main>
  <footer><a href="terms.html">Terms</a> · <a href="privacy.html">Privacy</a></footer>
</body>
</html>
"""
    readme = (
        f"# {product}\n\nWritten by Boardroom's OFFLINE provider (deterministic, no LLM).\n\n"
        "Preview: `python -m http.server -d site`. Deploy: upload `site/` to any static host.\n"
    )
    return {"site/index.html": html, "README.md": readme}


# --- the provider ----------------------------------------------------------------------------


def _log(message: str, *args: object) -> None:
    if activity.in_activity():
        activity.logger.info(message, *args)
    else:
        _logger.info(message, *args)


class OfflineProvider:
    """Deterministic, labelled agent work without an LLM (see the module docstring)."""

    name = "offline"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def _count(self, meter: Meter, prompt: str, output: str) -> None:
        await meter.add(self.name, OFFLINE_MODEL, max(1, len(prompt) // 4), max(1, len(output) // 4), 0)

    async def interview(self, data: InterviewInput, meter: Meter) -> list[Question]:
        _log("offline provider (no LLM): interview questions for project %s", data.project_id)
        product = product_name(data.goal)
        texts = [
            f"Who exactly is the first customer for {product}, and where do they look for it today?",
            f"What would you charge for {product}, and is it a one-off purchase or a subscription?",
            "What does success look like 90 days after launch (revenue, orders, sign-ups)?",
        ]
        if len(data.goal) > 60 or stable_hash("interview", data.goal) % 2 == 0:
            texts.append("Which constraints must we respect: budget, deadline, brand, or regions you cannot sell in?")
        questions = [Question(id=f"q{i}", text=t) for i, t in enumerate(texts, start=1)]
        await self._count(meter, data.goal, " ".join(texts))
        return questions

    async def research(self, data: ResearchInput, meter: Meter) -> Draft:
        _log("offline provider (no LLM): research for project %s", data.project_id)
        product = product_name(data.goal)
        price = launch_price(data.goal, data.answers)
        answers = "\n".join(f"- {k}: {v}" for k, v in data.answers.items()) or "- (no answers given)"
        task = TaskSpec(id="research", title="Market research", role="market-researcher")
        body = _research(Brief(task, product, price, data.goal))
        content = "\n\n".join(
            [
                OFFLINE_LABEL,
                f"# Market research: {product}",
                f"## Goal\n{data.goal}",
                f"## CEO answers\n{answers}",
                *body,
            ]
        )
        summary = (
            f"Offline desk research for {product}: three competitor archetypes priced around it; "
            f"a launch price near ${price:g} is defensible."
        )
        await self._count(meter, data.goal + answers, content)
        return Draft(title=f"Market research: {product}", summary=summary, content=content)

    async def plan(self, data: PlanInput, meter: Meter) -> Plan:
        _log("offline provider (no LLM): plan revision %d for project %s", data.revision, data.project_id)
        done = set(data.done_task_ids)
        tasks = list(data.previous.tasks) if data.previous is not None else base_tasks(data.goal, data.answers)
        if data.feedback:
            tasks = apply_feedback(tasks, data.feedback, data.revision)
        if data.steering:
            tasks = apply_steering(tasks, data.steering, done)
        previous_offer = data.previous.offer if data.previous is not None else None
        price = previous_offer.price_usd if previous_offer else launch_price(data.goal, data.answers)
        change_text = " ".join([*data.feedback, *data.steering])
        if _PRICE.search(change_text):
            # The CEO named a price in feedback or steering: it wins, and the remaining briefs quote it.
            old_price, price = price, launch_price(change_text)
            tasks = reprice(tasks, old_price, price, done)
        offer = Offer(
            product_name=previous_offer.product_name if previous_offer else product_name(data.goal),
            description=previous_offer.description if previous_offer else short(data.goal, 200),
            price_usd=price,
        )
        changes = [f"feedback: {short(f, 60)}" for f in data.feedback] + [
            f"steering: {short(s, 60)}" for s in data.steering
        ]
        summary = (
            f"[offline] {len(tasks)} tasks to launch {offer.product_name} at ${offer.price_usd:g}: "
            "market research → product spec and pricing → legal terms run in parallel and join at the build."
        )
        if changes:
            summary += f" Revision {data.revision} addresses " + "; ".join(changes) + "."
        plan = Plan(
            summary=summary,
            tasks=tasks,
            offer=offer,
            risks=[
                "Pricing is untested until real buyers see it",
                "Legal terms need a qualified lawyer's review before go-live",
                "Written by the offline provider: deterministic templates, not an LLM",
            ],
            estimated_cost_usd=round(sum(t.cost_estimate_usd for t in tasks), 2),
        )
        validate_plan(plan, self.catalog, keep_task_ids=[t for t in data.done_task_ids if t in {x.id for x in tasks}])
        await self._count(meter, data.goal + " ".join(data.feedback + data.steering), plan.model_dump_json())
        return plan

    async def produce(self, data: ProduceInput, previous: str | None, meter: Meter) -> Draft:
        task = data.task
        _log(
            "offline provider (no LLM): produce %s round %d for project %s",
            task.id,
            data.round,
            data.project_id,
        )
        role = self.catalog.role(task.role)
        product = product_name(data.goal)
        # The plan quotes the offer's price in each brief ("Offer: X at $29."); fall back to the goal.
        price = launch_price(task.description, None) if _PRICE.search(task.description) else launch_price(data.goal)
        lines = [
            OFFLINE_LABEL,
            f"# {task.title}",
            f"*{role.title} · {task.deliverable_kind} · round {data.round} · {task.risk.value} risk"
            f" · task `{task.id}`*",
            f"## Goal\n{data.goal or '(not given)'}",
            f"## Brief\n{task.description or task.title}",
            *_SECTIONS.get(task.deliverable_kind, _generic)(Brief(task, product, price, data.goal)),
            "## Acceptance criteria",
            "\n".join(f"- [x] {c}" for c in task.acceptance_criteria) or "- (none given)",
        ]
        if data.guidance:
            lines += [
                GUIDANCE_HEADING,
                data.guidance,
                f"Applied throughout this version (round {data.round}).",
            ]
        if data.feedback:
            notes = [
                f"{i}. **{item}** — addressed in round {data.round}: added specifics "
                "(numbers, names, an example) to the section it concerns."
                for i, item in enumerate(data.feedback, start=1)
            ]
            lines += [REVISION_HEADING, *notes]
        if previous is not None:
            lines.append(f"*Revises version {data.round - 1} ({len(previous)} characters).*")
        content = "\n\n".join(lines) + "\n"
        files = _site_files(product, price, data.goal, data.round) if task.deliverable_kind == "code" else {}
        summary = f"[offline] {task.title}, round {data.round}" + (
            f", addressing {len(data.feedback)} feedback item(s)" if data.feedback else ""
        )
        await self._count(meter, task.model_dump_json() + " ".join(data.feedback) + (previous or ""), content)
        return Draft(title=task.title, summary=summary, content=content, files=files)

    async def review(self, data: ReviewInput, deliverable: str, meter: Meter) -> ReviewDraft:
        task = data.task
        _log(
            "offline provider (no LLM): review %s round %d for project %s",
            task.id,
            data.round,
            data.project_id,
        )
        h = stable_hash(QA_SALT, task.id)
        fails_first_draft = h % 2 == 0
        revised = data.round >= 2 or GUIDANCE_HEADING in deliverable
        missing = [c for c in task.acceptance_criteria if c not in deliverable]
        issues: list[ReviewIssue] = []
        if not revised and fails_first_draft:
            score = 5.0 + ((h >> 8) % 10) / 10
            for criterion in task.acceptance_criteria[:3] or [task.title]:
                issues.append(
                    ReviewIssue(
                        severity="medium",
                        text=f"Make “{criterion}” concrete: add numbers, names and an example.",
                    )
                )
            if task.risk == Risk.high:
                issues.append(
                    ReviewIssue(
                        severity="high",
                        text="State the assumptions behind this high-risk work and what the CEO must confirm.",
                    )
                )
            summary = f"[offline QA] First draft of {task.id} is too generic: {len(issues)} issue(s)."
        elif missing:
            score = 6.0
            issues = [ReviewIssue(severity="medium", text=f"Acceptance criterion not covered: {c}") for c in missing]
            summary = f"[offline QA] {len(missing)} acceptance criterion/criteria not covered."
        else:
            spread = ((h >> 16) % 10) / 10
            score = min(MAX_OFFLINE_SCORE, (8.0 if revised else 7.5) + spread)
            issues = [ReviewIssue(severity="low", text="Consider adding one customer quote or data point.")]
            summary = f"[offline QA] {task.id} meets its acceptance criteria."
        score = round(min(score, MAX_OFFLINE_SCORE), 2)
        await self._count(meter, deliverable, summary + " ".join(i.text for i in issues))
        return ReviewDraft(score=score, summary=summary, issues=issues)

    async def analyze_kpis(self, data: KpiInput, meter: Meter) -> KpiDraft:
        _log("offline provider (no LLM): KPI review %d for project %s", data.review_number, data.project_id)
        k = data.kpis
        notes = "; ".join(data.recent_notes[-3:])
        context = f" Recent CEO notes: {notes}." if notes else ""
        tasks: list[TaskSpec] = []
        if k.refunds > 0:
            tasks.append(
                _task(
                    "pending",
                    "Reduce refunds",
                    "customer-success-manager",
                    "support",
                    Risk.high,
                    f"{k.refunds} refund(s) worth ${k.refunded_usd:g} so far. Find the reasons and change "
                    f"onboarding and the refund policy to cut them.{context}",
                    [
                        "Lists the refund reasons seen so far",
                        "Proposes changes to onboarding and the refund policy",
                        "Sets a target refund rate for the next review",
                    ],
                )
            )
        if k.open_issues > 0:
            tasks.append(
                _task(
                    "pending",
                    "Fix open customer issues",
                    "web-developer",
                    "code",
                    Risk.low,
                    f"{k.open_issues} customer issue(s) are open. Fix them and reply to each reporter.{context}",
                    [
                        "Each open issue has a fix or a documented answer",
                        "Includes a README note on what changed",
                        "Adds a check that prevents the most common issue",
                    ],
                )
            )
        if not tasks:
            tasks.append(
                _task(
                    "pending",
                    "Grow conversion",
                    "growth-marketer",
                    "marketing",
                    Risk.medium,
                    f"${k.revenue_usd:g} from {k.orders} order(s). "
                    f"Design one experiment to raise visitor-to-order conversion.{context}",
                    [
                        "States a hypothesis, a metric and a stop rule",
                        "Keeps the experiment within a $100 budget",
                        "Defines when the result will be read",
                    ],
                )
            )
        improvements = improvement_ids(data.review_number, tasks[:2])
        summary = (
            f"[offline] Review {data.review_number}: ${k.revenue_usd:g} revenue from {k.orders} order(s), "
            f"{k.refunds} refund(s), {k.open_issues} open issue(s) → {len(improvements)} improvement(s): "
            + ", ".join(t.title for t in improvements)
            + "."
        )
        await self._count(meter, k.model_dump_json() + notes, summary)
        return KpiDraft(summary=summary, improvements=improvements)
