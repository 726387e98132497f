"""The offline provider: deterministic agent work with no network and no LLM, clearly labelled.

It is the default when OPENAI_API_KEY is unset, so the whole lifecycle runs on a fresh machine.
It does real work on its inputs — from templates, never from a model:

- interview: questions for the kind of goal (a business or service is asked its price with the
  currency, audience, region and constraints; a research project its question, assessor,
  deadline and constraints; a content project its audience, format, language and constraints),
  with topic ids (`price`, `audience`, …) so each answer is read for what it was asked;
- research: desk research from the goal and the answers (competitor types priced in the CEO's
  currency; a literature map for a thesis; comparables for a content project);
- plan: the work that kind of goal needs — a business or service gets research → spec,
  pricing → legal terms, joined by the website, then launch copy and support; a research
  project gets a literature map, research design, timeline, data plan and thesis outline (no
  pricing, legal terms or checkout); a content project gets audience research, an editorial
  plan, first pieces, SEO and distribution. The offer (price, currency, unit, audience, region,
  constraints) comes from the answers (activities/offer.py); CEO feedback and steering visibly
  change the plan;
- produce: each deliverable from the project's facts and the deliverables its task depends on
  (activities/rubric.py) — the pricing deliverable's price and the legal deliverable's terms
  reach the website; a revision changes the previous version where each QA issue points and
  says so in its revision notes;
- review: a rubric checker, one check per acceptance criterion, that fails a deliverable with
  its reasons (scores "offline rubric", never above 9.0: a pass threshold above 9 never passes);
- analyze_kpis: 1-2 improvement tasks from the KPIs, ids unique per review.

Usage is counted approximately (characters / 4) as provider "offline", model "offline", $0.
"""

from __future__ import annotations

import logging
import re

from temporalio import activity

from activities.catalog import Catalog
from activities.compliance import claim_pattern
from activities.context import Brief
from activities.offer import (
    audience_in_instruction,
    derive_offer,
    goal_kind,
    parse_price,
    product_name,
    short,
    stated_price,
    topic,
    words,
)
from activities.planning import (
    Deliverable,
    Draft,
    KpiDraft,
    ReviewDraft,
    improvement_ids,
    slug,
    stable_hash,
    validate_plan,
)
from activities.rubric import (
    MAX_OFFLINE_SCORE,
    OFFLINE_LABEL,
    REVISION_HEADING,
    check,
    facts_for,
    header,
    join_sections,
    revise,
    with_directions,
    write,
)
from activities.usage import Meter
from domain.enums import SELLING_KINDS, GoalKind, Risk
from domain.work import (
    REVIEW_METHOD_OFFLINE_RUBRIC,
    InterviewInput,
    KpiInput,
    Offer,
    Plan,
    PlanInput,
    ProduceInput,
    Question,
    RelatedDocument,
    ResearchInput,
    ReviewInput,
    TaskSpec,
)

__all__ = ["MAX_OFFLINE_SCORE", "OFFLINE_LABEL", "REVISION_HEADING", "OfflineProvider"]

OFFLINE_MODEL = "offline"

_logger = logging.getLogger(__name__)

# --- free text → the role that acts on it ----------------------------------------------------------

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
_DEFAULT_ROLES = {
    GoalKind.business: ("business-strategist", "strategy", Risk.medium),
    GoalKind.service: ("business-strategist", "strategy", Risk.medium),
    GoalKind.research: ("academic-researcher", "document", Risk.medium),
    GoalKind.content: ("copywriter", "content", Risk.medium),
}
# Work a project that sells nothing never gets from a keyword (a thesis has no checkout).
_SELLING_ONLY = {"pricing", "legal", "code", "sales"}


def role_for_text(text: str, kind: GoalKind = GoalKind.business) -> tuple[str, str, Risk]:
    """The catalog role, deliverable kind and risk that fit a free-text instruction."""
    tokens = {w.lower() for w in words(text)}
    for keywords, role, deliverable_kind, risk in _KEYWORD_ROLES:
        if tokens & set(keywords):
            if kind not in SELLING_KINDS and deliverable_kind in _SELLING_ONLY:
                continue
            return role, deliverable_kind, risk
    return _DEFAULT_ROLES[kind]


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


# --- plans per kind of goal ------------------------------------------------------------------------


def _offer_note(offer: Offer, stated: bool) -> str:
    source = "the CEO's answer" if stated else "a proposal: the CEO named no price"
    return f" Offer: {offer.product_name} at {offer.price_label} ({source})."


def selling_tasks(offer: Offer, kind: GoalKind, stated: bool) -> list[TaskSpec]:
    """A business or service: chain A (research → spec) and chain B (pricing → legal) meet at the
    website; launch copy and the support playbook build on them."""
    product = offer.product_name
    who = offer.audience or f"buyers of {product.lower()}"
    where = f" in {offer.region}" if offer.region else ""
    service = kind == GoalKind.service
    tasks = [
        _task(
            "market-research",
            f"Market and competitor research for {product}",
            "market-researcher",
            "research",
            Risk.low,
            f"Size the market of {who}{where}, map competitors and their prices in {offer.currency.upper()}, "
            f"and state what it means for {product}.",
            [
                "Names at least three competitors with their price",
                "Sizes the target segment with stated assumptions",
                "Ends with implications for the offer and its price",
            ],
        ),
        _task(
            "product-spec",
            f"{'Service packages and delivery' if service else 'Product definition'} for {product}",
            "product-manager",
            "spec",
            Risk.medium,
            f"One-page spec for v1 of {product} for {who}: problem, scope, user stories, success metrics.",
            [
                "Defines a v1 scope small enough to ship in two weeks",
                "Lists user stories with acceptance criteria",
                "States measurable success metrics for the first 90 days",
            ],
            ["market-research"],
        ),
        _task(
            "pricing",
            f"Launch {'rates' if service else 'price'} and packaging for {product}",
            "pricing-strategist",
            "pricing",
            Risk.high,
            f"Set the launch price ({offer.price_label}), discounts and refund rules, and show the margin.",
            [
                f"Recommends a launch price of {offer.price_label} with its reasoning",
                "Defines discount and refund rules",
                "Shows the margin after payment fees and refunds",
            ],
        ),
        _task(
            "legal-terms",
            f"{'Service agreement' if service else 'Terms of service'}, refund and privacy policy",
            "legal-counsel",
            "legal",
            Risk.high,
            f"Plain-language terms, a refund policy matching the pricing rules, and a privacy policy for {product}"
            f"{where}.",
            [
                "The refund policy matches the pricing task's refund rules",
                "Lists the personal data collected and why",
                "Lists what a lawyer must check before go-live",
            ],
            ["pricing"],
        ),
        _task(
            "website",
            f"Website for {product}",
            "web-developer",
            "code",
            Risk.medium,
            f"A small static site for {product}: the offer, its price and who it is for from the spec and pricing, "
            "terms and privacy pages from the legal deliverable, and the buy button launch points at the payment link.",
            [
                "States the offer, its price and who it is for on the home page",
                "Has the buy button that launch points at the payment link",
                "Links the terms and privacy pages, and every local link resolves",
                "Uses no external resources and no template placeholders",
            ],
            ["product-spec", "pricing", "legal-terms"],
        ),
        _task(
            "launch-content",
            f"Launch announcement and page copy for {product}",
            "copywriter",
            "content",
            Risk.medium,
            "The launch announcement, a title and meta description for each page of the site, and three social posts.",
            [
                "Announcement states who it is for, the price and the link",
                "Gives a title and meta description for each page",
                "Includes three ready-to-post social posts",
            ],
            ["website", "pricing"],
        ),
        _task(
            "support-playbook",
            f"{'Client' if service else 'Customer'} support playbook for {product}",
            "customer-success-manager",
            "support",
            Risk.low,
            "Onboarding to first value, the top questions with answers, and how refunds are handled.",
            [
                "Answers the ten most likely customer questions",
                "Defines response-time targets and escalation",
                "Describes the refund handling steps",
            ],
            ["product-spec", "legal-terms"],
        ),
    ]
    note = _offer_note(offer, stated)
    return [t.model_copy(update={"description": t.description + note}) for t in tasks]


def research_tasks(goal: str) -> list[TaskSpec]:
    """A thesis or study: literature → design → data plan, a timeline from the CEO's deadline,
    joined by the outline. Nothing is priced, sold or published with a checkout."""
    subject = topic(goal)
    return [
        _task(
            "literature-review",
            f"Literature map for {subject}",
            "academic-researcher",
            "research",
            Risk.low,
            f"Map the prior work on {subject}: the strands to read, how to search each, and the likely gap.",
            [
                "Maps at least five strands of prior work, each with a search query",
                "States the gap this project can fill",
                "Lists the databases and sources to search",
            ],
        ),
        _task(
            "research-design",
            f"Research question and design for {subject}",
            "academic-researcher",
            "spec",
            Risk.medium,
            "Turn the topic into a research question with hypotheses; choose the method, data and sample.",
            [
                "States the research question and hypotheses",
                "Describes the method, data and sample",
                "Names the threats to validity and how each is handled",
            ],
            ["literature-review"],
        ),
        _task(
            "project-plan",
            "Timeline and milestones",
            "business-analyst",
            "document",
            Risk.low,
            "Milestones from today to submission that respect the CEO's deadline and constraints.",
            [
                "Breaks the work into milestones with dates",
                "Respects the CEO's deadline and constraints",
                "Names the supervisor checkpoints",
            ],
        ),
        _task(
            "data-plan",
            "Data collection and analysis plan",
            "academic-researcher",
            "analytics",
            Risk.medium,
            "How the data is collected and analysed, and what ethics approval and data protection require.",
            [
                "Describes how the data is collected",
                "Names the analysis methods",
                "Covers ethics approval and data protection",
            ],
            ["research-design"],
        ),
        _task(
            "thesis-outline",
            "Chapter outline and draft introduction",
            "technical-writer",
            "content",
            Risk.medium,
            "The chapter-by-chapter outline and a first draft of the introduction.",
            [
                "Gives a chapter-by-chapter outline",
                "Drafts the introduction around the research question",
                "Builds on the literature review's strands",
            ],
            ["literature-review", "research-design", "project-plan"],
        ),
    ]


def content_tasks(goal: str) -> list[TaskSpec]:
    """A blog, newsletter, podcast or channel: audience → editorial plan → first pieces and SEO,
    joined by the distribution plan. Nothing is sold at launch."""
    subject = topic(goal)
    name = product_name(goal)
    return [
        _task(
            "audience-research",
            f"Audience and comparables for {name}",
            "customer-researcher",
            "research",
            Risk.low,
            f"Who reads or listens to {subject}, where they are today, and what already serves them.",
            [
                "Describes the audience and where they already are",
                "Names at least three comparable publications or shows",
                "States what this project does differently",
            ],
        ),
        _task(
            "editorial-plan",
            f"Editorial plan for {name}",
            "business-strategist",
            "strategy",
            Risk.medium,
            "Format, cadence, the first topics and how success is measured.",
            [
                "Sets the format and publishing cadence",
                "Lists the first ten topics",
                "Defines how success is measured at 90 days",
            ],
            ["audience-research"],
        ),
        _task(
            "first-pieces",
            f"The first three pieces of {name}",
            "copywriter",
            "content",
            Risk.medium,
            "The first three pieces, written in full, each with a title and a summary.",
            [
                "Drafts the first three pieces in full",
                "Gives each piece a title and a summary",
            ],
            ["editorial-plan"],
        ),
        _task(
            "seo-plan",
            f"Search plan for {name}",
            "seo-specialist",
            "seo",
            Risk.low,
            "One search keyword per planned topic, by intent.",
            ["Maps a search keyword to each of the first ten topics"],
            ["editorial-plan"],
        ),
        _task(
            "distribution",
            f"Distribution plan for {name}",
            "growth-marketer",
            "marketing",
            Risk.medium,
            "Where the first pieces are shared in the first 30 days, and the target.",
            [
                "Picks two channels with a reason for each",
                "Plans the first 30 days week by week",
                "Sets a measurable growth target",
            ],
            ["first-pieces", "seo-plan"],
        ),
    ]


def base_tasks(goal: str, answers: dict[str, str], kind: GoalKind | None = None) -> list[TaskSpec]:
    """The plan for the kind of goal (see the module docstring)."""
    kind = kind or goal_kind(goal)
    if kind == GoalKind.research:
        return research_tasks(goal)
    if kind == GoalKind.content:
        return content_tasks(goal)
    offer = derive_offer(goal, answers, kind)
    assert offer is not None
    return selling_tasks(offer, kind, stated_price(goal, answers) is not None)


def reprice(tasks: list[TaskSpec], old: Offer, new: Offer, done: set[str]) -> list[TaskSpec]:
    """The CEO named a new price: remaining tasks' briefs and criteria quote it."""
    if (old.price_usd, old.currency, old.unit) == (new.price_usd, new.currency, new.unit):
        return tasks
    swaps = [(old.price_label, new.price_label), (old.amount_label, new.amount_label)]

    def swap(text: str) -> str:
        for a, b in swaps:
            text = re.sub(rf"{re.escape(a)}(?![\d.])", b, text)
        return text

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


def apply_feedback(
    tasks: list[TaskSpec], feedback: list[str], revision: int, kind: GoalKind = GoalKind.business
) -> list[TaskSpec]:
    """CEO asked to revise the plan: each point becomes a task the join task waits for."""
    tasks = list(tasks)
    for point in feedback:
        point = point.strip()
        if not point:
            continue
        tid = f"feedback-{slug(point, 24)}-{stable_hash('feedback', point) % 1000:03d}"
        if any(t.id == tid for t in tasks):
            continue
        role, work_kind, risk = role_for_text(point, kind)
        tasks.append(
            _task(
                tid,
                f"Address CEO feedback: {short(point, 70)}",
                role,
                work_kind,
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


def apply_steering(
    tasks: list[TaskSpec], steering: list[str], done: set[str], kind: GoalKind = GoalKind.business
) -> list[TaskSpec]:
    """CEO steered mid-execution: done tasks stay exactly; each instruction adds a task and
    becomes a criterion of every remaining task."""
    tasks = list(tasks)
    for instruction in steering:
        instruction = instruction.strip()
        if not instruction:
            continue
        tid = f"steer-{slug(instruction, 24)}-{stable_hash('steer', instruction) % 1000:03d}"
        if not any(t.id == tid for t in tasks):
            role, work_kind, risk = role_for_text(instruction, kind)
            tasks.append(
                _task(
                    tid,
                    f"Apply CEO steering: {short(instruction, 70)}",
                    role,
                    work_kind,
                    risk,
                    f"The CEO steered the project: “{instruction}”. Deliver the change this requires.",
                    [
                        f"Implements the CEO's instruction: {instruction}",
                        "Lists which earlier deliverables change",
                    ],
                    sorted(t.id for t in tasks if t.id in done and t.deliverable_kind == work_kind),
                )
            )
        criterion = f"Reflects the CEO's instruction: {instruction}"
        tasks = [t if t.id in done or t.id == tid else _with_criterion(t, criterion) for t in tasks]
    return tasks


# --- interview and research ------------------------------------------------------------------------


def interview_questions(goal: str) -> list[Question]:
    """Questions for the kind of goal, with topic ids so the answers can be read for what was asked."""
    kind = goal_kind(goal)
    product = product_name(goal)
    subject = topic(goal)
    asked: list[tuple[str, str]]
    if kind == GoalKind.research:
        asked = [
            ("question", f"What is your research question about {subject}, as you would put it today?"),
            ("audience", "Who assesses or reads the work: a supervisor, a committee, a journal?"),
            ("deadline", "When is it due (a date, or “in 6 months”)?"),
            ("constraints", "Which constraints apply: word count, required method, data you have or lack, ethics?"),
        ]
    elif kind == GoalKind.content:
        asked = [
            ("audience", f"Who is {product} for, and where do they read or listen today?"),
            ("format", "Which format and how often (e.g. “a weekly newsletter”, “a monthly episode”)?"),
            ("region", "Which language and region?"),
            ("constraints", "Which constraints must we respect: time per week, budget, tone, topics to avoid?"),
        ]
    elif kind == GoalKind.service:
        asked = [
            ("audience", f"Who are the first clients for {product}?"),
            (
                "price",
                f"What will you charge for {product}, in which currency, and per what "
                "(e.g. “90 EUR per hour”, “1,500 USD per project”)?",
            ),
            ("region", "Where do you serve clients: which cities or countries, or remotely?"),
            ("constraints", "Which constraints must we respect: hours per week, budget, deadline, certifications?"),
        ]
    else:
        asked = [
            ("audience", f"Who is the first customer for {product}?"),
            (
                "price",
                f"What will you charge for {product}, in which currency, and per what "
                "(e.g. “35 EUR per mug”, “12 USD per month”)?",
            ),
            ("region", "Where will you sell and deliver: which countries or regions?"),
            ("constraints", "Which constraints must we respect: budget, deadline, brand, legal?"),
        ]
    return [Question(id=qid, text=text) for qid, text in asked]


def _facts_brief(goal: str, answers: dict[str, str], kind: GoalKind, task: TaskSpec) -> Brief:
    return Brief(goal=goal, task=task, kind=kind, answers=dict(answers), offer=derive_offer(goal, answers, kind))


_RESEARCH_TASK = TaskSpec(id="research", title="Research", role="market-researcher", deliverable_kind="research")


def related_part(related: list[RelatedDocument]) -> str:
    """What the owner's earlier projects found, quoted with where it came from."""
    lines = [f"- {d.citation()}: {' '.join((d.excerpt or d.title).split())}" for d in related]
    return "## What earlier projects found\n\n" + "\n".join(lines)


def research_document(goal: str, answers: dict[str, str], related: list[RelatedDocument] | None = None) -> Draft:
    """Desk research for the kind of goal, from the goal, the CEO's answers and the owner's
    related earlier documents (quoted, so the research builds on them)."""
    kind = goal_kind(goal)
    facts = facts_for(_facts_brief(goal, answers, kind, _RESEARCH_TASK))
    parts, _ = write(_RESEARCH_TASK, facts)
    listed = "\n".join(f"- {k}: {v}" for k, v in answers.items()) or "- (no answers given)"
    if kind in SELLING_KINDS and facts.price is not None:
        title = f"Market research: {facts.product}"
        summary = (
            f"Offline desk research for {facts.product}: three competitor types priced "
            f"{facts.price.times(0.6)}–{facts.price.times(1.8)}; a launch price of {facts.price.full}"
            f"{' for ' + facts.audience if facts.audience else ''} sits between them."
        )
    elif kind == GoalKind.research:
        title = f"Literature map: {facts.topic}"
        summary = f"Offline literature map for {facts.topic}: six strands of prior work to search, and a working gap."
    else:
        title = f"Audience research: {facts.product}"
        summary = f"Offline audience research for {facts.product}: who it is for, three comparables and an angle."
    sections = [OFFLINE_LABEL, f"# {title}", f"## Goal\n\n{goal}", f"## CEO answers\n\n{listed}", join_sections(parts)]
    if related:
        sections.append(related_part(related))
        summary += f" Builds on {len(related)} document(s) from earlier projects."
    return Draft(title=title, summary=summary, content="\n\n".join(sections))


# --- the provider ------------------------------------------------------------------------------------


# --- lessons: the CEO's standing guidance from earlier feedback -----------------------------------

LESSONS_HEADING = "Standing guidance from the CEO"
_NEVER = re.compile(
    r"^\s*(?:[^:]{1,80}:\s*)?(?:never|do not|don't|avoid|no more|stop)\s+"
    r"(?:(?:promise|promising|say|saying|write|writing|use|using|mention|mentioning|claim|claiming|offer|"
    r"offering|advertise|advertising|state|stating|put|include|including)\s+)?(.{3,80}?)[.!]?\s*$",
    re.IGNORECASE,
)
OMITTED = "(left out: the CEO's standing guidance)"


def banned_phrases(lessons: list[str]) -> list[str]:
    """What "Never X" lessons forbid: "Never promise next-day delivery." → "next-day delivery"."""
    found = [m.group(1).strip() for m in (_NEVER.match(x) for x in lessons) if m]
    return [p for p in dict.fromkeys(found) if p]


def respect_lessons(text: str, phrases: list[str]) -> str:
    """The text without any phrase a lesson forbids (case-insensitive, a space or hyphen alike)."""
    for phrase in phrases:
        text = claim_pattern(phrase).sub(OMITTED, text)
    return text


def lessons_part(lessons: list[str]) -> tuple[str, str]:
    lines = [f"- {x}" for x in lessons]
    return (LESSONS_HEADING, "Lessons from the CEO's earlier feedback, followed in this version:\n" + "\n".join(lines))


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
        questions = interview_questions(data.goal)
        await self._count(meter, data.goal, " ".join(q.text for q in questions))
        return questions

    async def research(self, data: ResearchInput, meter: Meter) -> Draft:
        _log("offline provider (no LLM): research for project %s", data.project_id)
        draft = research_document(data.goal, data.answers, data.related)
        await self._count(meter, data.goal + " ".join(data.answers.values()), draft.content)
        return draft

    async def plan(self, data: PlanInput, meter: Meter) -> Plan:
        _log("offline provider (no LLM): plan revision %d for project %s", data.revision, data.project_id)
        done = set(data.done_task_ids)
        kind = data.previous.kind if data.previous is not None else goal_kind(data.goal)
        tasks = list(data.previous.tasks) if data.previous is not None else base_tasks(data.goal, data.answers, kind)
        if data.feedback:
            tasks = apply_feedback(tasks, data.feedback, data.revision, kind)
        if data.steering:
            tasks = apply_steering(tasks, data.steering, done, kind)
        offer = data.previous.offer if data.previous is not None else derive_offer(data.goal, data.answers, kind)
        change_text = " ".join([*data.feedback, *data.steering])
        named = parse_price(change_text)
        if offer is not None and named is not None:
            # The CEO named a price in feedback or steering: it wins, and the remaining briefs quote it.
            new = offer.model_copy(
                update={
                    "price_usd": named.amount,
                    "currency": named.currency or offer.currency,
                    "unit": named.unit or offer.unit,
                }
            )
            tasks = reprice(tasks, offer, new, done)
            offer = new
        audience = audience_in_instruction(change_text)
        if offer is not None and audience and audience != offer.audience:
            # The CEO named a new audience: the offer (and so every later deliverable) follows.
            offer = offer.model_copy(update={"audience": audience})
        changes = [f"feedback: {short(f, 60)}" for f in data.feedback] + [
            f"steering: {short(s, 60)}" for s in data.steering
        ]
        if kind in SELLING_KINDS and offer is not None:
            summary = (
                f"[offline] {len(tasks)} tasks to launch {offer.product_name} at {offer.price_label}"
                f"{' for ' + offer.audience if offer.audience else ''}: market research → product spec and "
                "pricing → legal terms run in parallel and join at the website."
            )
            risks = [
                "The price is untested until real buyers see it",
                "Legal terms need a qualified lawyer's review before go-live",
            ]
        elif kind == GoalKind.research:
            summary = (
                f"[offline] {len(tasks)} tasks for a research project on {topic(data.goal)}: literature map → "
                "research design → data plan, with a timeline, joined by the chapter outline. Nothing is sold."
            )
            risks = ["The research question must be agreed with the supervisor", "Data access and ethics approval"]
        else:
            summary = (
                f"[offline] {len(tasks)} tasks for the content project {product_name(data.goal)}: audience → "
                "editorial plan → first pieces and search plan, joined by the distribution plan. Nothing is sold."
            )
            risks = ["Growth depends on publishing on schedule"]
        if changes:
            summary += f" Revision {data.revision} addresses " + "; ".join(changes) + "."
        if data.lessons:
            summary += f" {LESSONS_HEADING}: " + " ".join(data.lessons)
        plan = Plan(
            summary=summary,
            kind=kind,
            tasks=tasks,
            offer=offer if kind in SELLING_KINDS else None,
            risks=[*risks, "Written by the offline provider: deterministic templates, not an LLM"],
            estimated_cost_usd=round(sum(t.cost_estimate_usd for t in tasks), 2),
        )
        validate_plan(plan, self.catalog, keep_task_ids=[t for t in data.done_task_ids if t in {x.id for x in tasks}])
        await self._count(meter, data.goal + " ".join(data.feedback + data.steering), plan.model_dump_json())
        return plan

    async def produce(self, data: ProduceInput, brief: Brief, meter: Meter) -> Draft:
        task = data.task
        _log(
            "offline provider (no LLM): produce %s round %d for project %s (%d upstream deliverable(s))",
            task.id,
            data.round,
            data.project_id,
            len(brief.upstream),
        )
        role = self.catalog.role(task.role)
        facts = facts_for(brief)
        notes: list[str] = []
        if brief.previous is not None and data.feedback:
            revision = revise(task, facts, brief.previous, brief.previous_files, data.feedback)
            parts, files, notes = revision.parts, revision.files, revision.notes
        else:
            parts, files = write(task, facts)
            notes = [
                f"{i}. {item} — written into this version from the inputs (the previous version was not available)."
                for i, item in enumerate(data.feedback, start=1)
            ]
        parts = with_directions(parts, task, facts)
        if notes:
            parts = [*parts, (REVISION_HEADING, "\n".join(notes))]
        parts = [p for p in parts if p[0] != LESSONS_HEADING]
        banned = banned_phrases(brief.lessons)
        if banned:
            parts = [(h, respect_lessons(b, banned)) for h, b in parts]
            files = {name: respect_lessons(text, banned) for name, text in (files or {}).items()} or files
        if brief.lessons:
            parts = [*parts, lessons_part(brief.lessons)]
        top = header(task, role.title, data.round, facts, brief)
        content = (respect_lessons(top, banned) if banned else top) + "\n\n" + join_sections(parts)
        summary = f"[offline] {task.title}, version {data.round}" + (
            f", addressing {len(data.feedback)} feedback item(s)" if data.feedback else ""
        )
        await self._count(meter, task.model_dump_json() + " ".join(data.feedback) + (brief.previous or ""), content)
        return Draft(title=task.title, summary=summary, content=content, files=files)

    async def review(self, data: ReviewInput, brief: Brief, deliverable: Deliverable, meter: Meter) -> ReviewDraft:
        task = data.task
        _log(
            "offline provider (no LLM): rubric review of %s round %d for project %s",
            task.id,
            data.round,
            data.project_id,
        )
        result = check(task, deliverable.content, deliverable.files, facts_for(brief), len(task.depends_on))
        issues = result.issues(task)
        summary = result.summary()
        await self._count(meter, deliverable.content, summary + " ".join(i.text for i in issues))
        return ReviewDraft(score=result.score, summary=summary, issues=issues, method=REVIEW_METHOD_OFFLINE_RUBRIC)

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
