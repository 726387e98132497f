"""The offline provider's work and its QA: section writers and the rubric that checks them.

Every acceptance criterion the offline planner writes maps to a `Rule`: a regular expression
that recognises the criterion, the section that meets it, how the producer writes that section
from the project's facts, and how QA checks the deliverable for it. The check looks at the work
itself — a section with enough entries, the price equal to the pricing deliverable's, the refund
window equal to the pricing rules', every local link of the site resolving, the CEO's deadline
present — never for the criterion's own words: lines that repeat a criterion verbatim and the
"Revision notes", "Inputs used" and "Acceptance criteria" sections are removed before checking.

A criterion no rule recognises (written by someone else) cannot be met by templates: QA says so,
the producer's revision says so too, and after the bounded rounds the CEO decides (escalation).

Scores (rule stated): every criterion met → 9.0 minus 0.25 per advisory (built without a
deliverable it depends on, a price that is only a proposal); any criterion unmet → at most 6.0
(2.0 + 4.0 × the share met). Offline scores never exceed 9.0 (`MAX_OFFLINE_SCORE`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from activities.context import Brief, Upstream
from activities.offer import (
    audience_in_goal,
    audience_in_instruction,
    constraints_in,
    derive_offer,
    money,
    parse_price,
    product_name,
    short,
    topic,
    words,
)
from activities.site import BUY_BUTTON, is_website_task, site_problems, visible_text
from domain.enums import SELLING_KINDS, GoalKind, Risk
from domain.work import Offer, ReviewIssue, TaskSpec

MAX_OFFLINE_SCORE = 9.0
UNMET_CAP = 6.0
ADVISORY_COST = 0.25
DEFAULT_REFUND_DAYS = 14

OFFLINE_LABEL = "> Written by Boardroom's OFFLINE provider (deterministic templates from the project's inputs, no LLM)"
REVISION_HEADING = "Revision notes"
INPUTS_HEADING = "Inputs used"
DIRECTIONS_HEADING = "CEO direction applied"
# Sections QA ignores: they describe the work rather than being it.
_IGNORED = {REVISION_HEADING.lower(), INPUTS_HEADING.lower(), "acceptance criteria", "qa issues"}

_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "ten": 10}


# --- facts: what every section is written from ----------------------------------------------------


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str
    unit: str = ""

    @property
    def label(self) -> str:
        return money(self.amount, self.currency)

    @property
    def full(self) -> str:
        return f"{self.label} {self.unit}".strip()

    def times(self, factor: float) -> str:
        return money(round(self.amount * factor, 2), self.currency)


@dataclass(frozen=True)
class Facts:
    """The project's facts as a producer (and its reviewer) derives them from a Brief."""

    goal: str
    kind: GoalKind
    product: str
    price: Money | None
    price_source: str
    audience: str
    region: str
    constraints: list[str]
    refund_days: int
    refund_source: str
    topic: str
    question: str
    deadline: str
    directions: list[str]
    upstream: list[Upstream] = field(default_factory=list)
    research_summary: str = ""
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def selling(self) -> bool:
        return self.kind in SELLING_KINDS

    def up(self, *kinds: str) -> Upstream | None:
        return next((u for u in self.upstream if u.kind in kinds), None)


_LAUNCH_PRICE = re.compile(r"launch (?:price|rate):\s*\*\*([^*]{1,60})\*\*", re.IGNORECASE)
_REFUND_DAYS = re.compile(r"(?:within|for|of)\s+(\d{1,3})\s+days|(\d{1,3})-day", re.IGNORECASE)
_DEADLINE = re.compile(
    r"\b(?:by|before|until|due(?: on)?|deadline(?: is)?:?)\s+((?:the\s+)?(?:end of\s+)?"
    r"(?:\d{4}-\d{2}-\d{2}|(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)(?:\s+\d{1,2})?(?:,?\s+\d{4})?|\d{1,2}\s+(?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December)(?:\s+\d{4})?|(?:spring|summer|autumn|fall|winter)(?:\s+\d{4})?))"
    r"|\bin\s+(\d{1,2}\s+(?:weeks|months))",
    re.IGNORECASE,
)
_CEO_POINT = re.compile(r"CEO's (?:feedback|instruction):\s*(.+)$", re.IGNORECASE)


def launch_price_in(text: str) -> Money | None:
    found = _LAUNCH_PRICE.search(text)
    if not found:
        return None
    price = parse_price(found.group(1))
    if price is None or price.currency is None:
        return None
    return Money(price.amount, price.currency, price.unit)


def refund_days_in(text: str) -> int | None:
    for heading, body in sections(text):
        if "refund" in heading.lower():
            found = _REFUND_DAYS.search(body)
            if found:
                return int(found.group(1) or found.group(2))
    return None


def deadline_in(text: str) -> str:
    found = _DEADLINE.search(text)
    if not found:
        return ""
    return (found.group(0)).strip()


def ceo_points(task: TaskSpec, steering: list[str], guidance: str = "") -> list[str]:
    """The CEO's instructions this deliverable must reflect: named in its criteria, steering
    notes, and guidance after an escalation or a revise decision."""
    points: list[str] = []
    for criterion in task.acceptance_criteria:
        found = _CEO_POINT.search(criterion)
        if found:
            points.append(found.group(1).strip())
    for text in [*steering, guidance]:
        text = text.strip()
        if text and text not in points:
            points.append(text)
    return points


def facts_for(brief: Brief) -> Facts:
    """Facts from a brief; the most specific source wins: a CEO direction (guidance, steering)
    over the pricing deliverable over the offer over the answers over the goal."""
    kind = brief.kind
    goal = brief.goal
    answers = brief.answers
    offer: Offer | None = brief.offer or derive_offer(goal, answers, kind)
    directions = ceo_points(brief.task, brief.steering, brief.guidance)
    price: Money | None = None
    source = ""
    if offer is not None:
        price = Money(offer.price_usd, offer.currency.lower(), offer.unit)
        source = "the offer in the plan"
    pricing = brief.upstream_of_kind("pricing")
    if pricing is not None:
        stated = launch_price_in(pricing.content)
        if stated is not None:
            price, source = stated, f"the pricing deliverable (v{pricing.version})"
    for text in directions:
        stated_in = parse_price(text)
        if stated_in is not None and stated_in.currency is not None:
            unit = stated_in.unit or (price.unit if price else "")
            price, source = Money(stated_in.amount, stated_in.currency, unit), "the CEO's direction"
    audience = (offer.audience if offer else "") or answers.get("audience", "") or audience_in_goal(goal)
    for text in directions:
        named = audience_in_instruction(text)
        if named:
            audience = named
    refund_days, refund_source = DEFAULT_REFUND_DAYS, "the default rule"
    for kinds in (("legal",), ("pricing",)):
        up = brief.upstream_of_kind(*kinds)
        days = refund_days_in(up.content) if up is not None else None
        if up is not None and days is not None:
            refund_days, refund_source = days, f"the {kinds[0]} deliverable (v{up.version})"
            break
    constraints = (
        list(offer.constraints) if offer and offer.constraints else constraints_in(answers.get("constraints", ""))
    )
    deadline = ""
    for text in [answers.get("deadline", ""), answers.get("constraints", ""), *constraints, goal]:
        deadline = deadline_in(text)
        if deadline:
            break
    return Facts(
        goal=goal,
        kind=kind,
        product=offer.product_name if offer else product_name(goal),
        price=price if kind in SELLING_KINDS else None,
        price_source=source,
        audience=short(audience, 120) if audience else "",
        region=(offer.region if offer else "") or answers.get("region", ""),
        constraints=constraints,
        refund_days=refund_days,
        refund_source=refund_source,
        topic=topic(goal),
        question=answers.get("question", "").strip() or f"What explains {topic(goal)}, and what would improve it?",
        deadline=deadline,
        directions=directions,
        upstream=list(brief.upstream),
        research_summary=brief.research_summary,
        answers=dict(answers),
    )


# --- markdown sections ----------------------------------------------------------------------------


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for each `## ` section; the text before the first one has heading ""."""
    result: list[tuple[str, str]] = []
    heading, body = "", list[str]()
    for line in text.splitlines():
        if line.startswith("## "):
            result.append((heading, "\n".join(body).strip()))
            heading, body = line[3:].strip(), []
        else:
            body.append(line)
    result.append((heading, "\n".join(body).strip()))
    return result


def join_sections(parts: list[tuple[str, str]]) -> str:
    out = []
    for heading, body in parts:
        if heading:
            out.append(f"## {heading}\n\n{body}".rstrip())
        elif body:
            out.append(body)
    return "\n\n".join(out) + "\n"


@dataclass
class Doc:
    """A deliverable as QA reads it: sections without the ignored ones and pasted criteria."""

    parts: dict[str, str]
    files: dict[str, str]

    @classmethod
    def read(cls, content: str, files: dict[str, str], criteria: list[str]) -> Doc:
        pasted = [c.strip().lower() for c in criteria if len(c.strip()) > 12]
        parts: dict[str, str] = {}
        for heading, body in sections(content):
            if heading.lower() in _IGNORED:
                continue
            lines = [ln for ln in body.splitlines() if not any(p in ln.lower() for p in pasted)]
            parts[heading.lower()] = "\n".join(lines)
        return cls(parts, files)

    def section(self, *names: str) -> str:
        """The body of the first section whose heading contains one of the names."""
        for name in names:
            for heading, body in self.parts.items():
                if name.lower() in heading:
                    return body
        return ""

    @property
    def text(self) -> str:
        return "\n".join(self.parts.values())


def _items(body: str) -> list[str]:
    """List items and table rows (not the header or separator)."""
    rows = [ln.strip() for ln in body.splitlines()]
    items = [r for r in rows if re.match(r"^([-*]|\d+[.)])\s+\S", r)]
    table = [r for r in rows if r.startswith("|") and not re.match(r"^\|[\s:|-]+\|$", r)]
    return items + table[1:]  # the first table row is its header


def _count(criterion: str, default: int) -> int:
    """How many entries a criterion asks for: "at least 5", "three", "the ten most…"."""
    low = criterion.lower()
    found = re.search(r"at least (\d{1,2})\b", low) or re.search(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", low)
    if not found:
        return default
    value = found.group(1)
    return int(value) if value.isdigit() else _NUMBER_WORDS[value]


_AMOUNT = re.compile(r"(\d[\d,.]*)\s?([A-Z]{3})\b")


def _amounts(text: str, currency: str) -> set[float]:
    found = set()
    for m in _AMOUNT.finditer(text):
        if m.group(2).lower() == currency.lower():
            try:
                found.add(round(float(m.group(1).replace(",", "")), 2))
            except ValueError:
                continue
    return found


_GENERIC_WORDS = set(
    "the and with for its their each every that this from into least at a an of to in on or is are be it "
    "includes include lists list states state names name gives give defines define describes describe "
    "shows show has have uses use section clear clearly ceo's ceo instruction feedback reflects "
    "incorporates implements directly addresses".split()
)


def key_words(text: str) -> list[str]:
    return [w.lower() for w in words(text) if w.lower() not in _GENERIC_WORDS and len(w) > 2]


def covers(text: str, phrase: str, share: float = 0.6) -> bool:
    wanted = key_words(phrase)
    if not wanted:
        return True
    low = text.lower()
    return sum(1 for w in wanted if w in low) >= max(1, round(len(wanted) * share))


# --- rules ---------------------------------------------------------------------------------------

Writer = Callable[[Facts, TaskSpec], list[str]]
Checker = Callable[[Doc, Facts, str], str | None]


@dataclass(frozen=True)
class Rule:
    name: str
    heading: str
    write: Writer
    check: Checker
    pattern: str = ""  # criteria that match it; empty for sections only written, never asked for


def needs(name: str, heading: str, write_: Writer, minimum: int = 1, what: str = "entries", *, pattern: str) -> Rule:
    """A rule met by a section with at least `minimum` entries (or the number the criterion names)."""
    return Rule(name, heading, write_, _needs(heading, minimum, what), pattern)


def has(name: str, heading: str, write_: Writer, *found: str, pattern: str, explain: str = "") -> Rule:
    """A rule met by a section that contains each of the `found` patterns."""
    return Rule(name, heading, write_, _has(heading, *found, explain=explain), pattern)


def _needs(heading: str, minimum: int = 1, what: str = "entries") -> Checker:
    def check(doc: Doc, _f: Facts, criterion: str) -> str | None:
        body = doc.section(heading)
        if not body:
            return f"there is no “{heading}” section"
        need = _count(criterion, minimum) if minimum > 1 else minimum
        got = len(_items(body))
        if got < need:
            return f"the “{heading}” section has {got} {what}; {need} are needed"
        return None

    return check


def _has(heading: str, *patterns: str, explain: str = "") -> Checker:
    def check(doc: Doc, _f: Facts, _c: str) -> str | None:
        body = doc.section(heading)
        if not body:
            return f"there is no “{heading}” section"
        for pattern in patterns:
            if not re.search(pattern, body, re.IGNORECASE | re.MULTILINE):
                return explain or f"the “{heading}” section lacks {pattern!r}"
        return None

    return check


def _price_line(f: Facts) -> str:
    if f.price is None:
        return "no price (nothing is sold)"
    return f.price.full


# -- business and service: research


def w_market_size(f: Facts, _t: TaskSpec) -> list[str]:
    who = f.audience or f"buyers of {f.product.lower()}"
    where = f.region or "the first selling region"
    return [
        f"- Segment: {who} in {where}.",
        "- Estimate: 40,000 reachable buyers in year one. Assumptions: they search or ask in two or three "
        "communities we can reach; 1 in 200 visitors buys (0.5% conversion) → about 200 orders.",
        "- What would change the estimate: a survey of 30 people from the segment (see the spec's metrics).",
    ]


def w_competitors(f: Facts, _t: TaskSpec) -> list[str]:
    p = f.price or Money(29, "usd")
    return [
        "| competitor (type — check real names before relying on this) | offer | price |",
        "|---|---|---|",
        f"| Marketplace seller | a generic {f.product.lower()} | {p.times(0.6)} |",
        f"| Specialist brand | a premium {f.product.lower()} bundle | {p.times(1.8)} |",
        f"| Local shop or studio | in person, in {f.region or 'the region'} | {p.times(1.2)} |",
        "",
        "The offline provider names competitor types, not companies: it does not invent facts.",
    ]


def w_implications(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- Position {f.product} between the generic and the premium options at {_price_line(f)}"
        f" ({f.price_source or 'proposed'}).",
        f"- Win on specificity for {f.audience or 'the first segment'} and on a fast, clear purchase.",
        *(f"- Respect the constraint: {c}." for c in f.constraints[:3]),
    ]


def c_competitors(doc: Doc, _f: Facts, criterion: str) -> str | None:
    body = doc.section("competitors")
    if not body:
        return "there is no “Competitors” section"
    priced = [i for i in _items(body) if _AMOUNT.search(i) or parse_price(i)]
    need = _count(criterion, 3)
    if len(priced) < need:
        return f"the “Competitors” section names {len(priced)} competitor(s) with a price; {need} are needed"
    return None


def c_market_size(doc: Doc, _f: Facts, _c: str) -> str | None:
    body = doc.section("market size", "market")
    if not body:
        return "there is no “Market size” section"
    if not re.search(r"\d", body) or "assum" not in body.lower():
        return "the market size has no number with its stated assumptions"
    return None


def c_implications(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("implications")
    if not body:
        return "there is no “Implications” section"
    if f.price is not None and f.price.label not in body:
        return f"the implications do not state the offer's price ({f.price.label})"
    return None


# -- spec


def value_line(f: Facts) -> str:
    """One sentence: what it is, for whom, where."""
    who = f" for {f.audience}" if f.audience else ""
    where = f", in {f.region}" if f.region else ""
    return f"{f.product}{who}{where}: chosen in a minute, paid in one step."


def w_problem(f: Facts, _t: TaskSpec) -> list[str]:
    who = f.audience or "The first customers"
    return [
        f"- {who[:1].upper() + who[1:]} need {f.product.lower()} that fits them; today the options are generic "
        "or premium-priced (see the research).",
        f"- Value: {value_line(f)}",
    ]


def w_scope(f: Facts, _t: TaskSpec) -> list[str]:
    sell = f"checkout at {f.price.full}" if f.price else "publication"
    return [
        f"- In scope (two weeks): the core {f.product} offer, {sell}, a confirmation email, a refund request form.",
        "- Out of scope: accounts, subscriptions, localisation beyond " + (f.region or "the first region") + ".",
        *(f"- Constraint: {c}." for c in f.constraints[:3]),
    ]


def w_stories(f: Facts, _t: TaskSpec) -> list[str]:
    who = f.audience or "visitor"
    return [
        f"- As a {who}, I want to understand the offer in five seconds. "
        "AC: headline, price and who it is for at the top.",
        "- As a buyer, I want to pay in under a minute. AC: one buy button, a receipt by email.",
        f"- As a buyer, I want a refund if it is not for me. AC: refunds within {f.refund_days} days from one form.",
    ]


def w_metrics(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- 3% visitor-to-order conversion by day 90.",
        "- Refund rate under 5% of orders.",
        "- 20 orders in the first 30 days.",
    ]


def c_stories(doc: Doc, _f: Facts, criterion: str) -> str | None:
    body = doc.section("user stories")
    stories = re.findall(r"^\s*[-*]\s*As an? [^,]+, I want", body, re.IGNORECASE | re.MULTILINE)
    need = _count(criterion, 3)
    if len(stories) < need:
        return f"{len(stories)} user stories in the form “As a …, I want …”; {need} are needed"
    if sum(1 for s in body.splitlines() if "AC:" in s) < len(stories):
        return "not every user story has its acceptance criteria (AC:)"
    return None


def c_metrics(doc: Doc, _f: Facts, _c: str) -> str | None:
    body = doc.section("metrics", "success")
    if len([i for i in _items(body) if re.search(r"\d", i)]) < 2:
        return "fewer than two measurable (numeric) success metrics"
    return None


# -- pricing


def w_launch_price(f: Facts, _t: TaskSpec) -> list[str]:
    p = f.price or Money(29, "usd")
    stated = "the CEO" in f.price_source or "pricing deliverable" in f.price_source
    proposal = "" if stated or f.answers.get("price") else ", as a proposal: the CEO named no price"
    why = (
        f"the CEO's answer ({f.answers.get('price', p.full)})"
        if f.answers.get("price") and "offer" in f.price_source
        else f.price_source
    )
    return [
        f"- Launch price: **{p.full}**",
        f"- Why: taken from {why}; it sits between the generic ({p.times(0.6)}) and premium ({p.times(1.8)}) "
        f"options found in the research{proposal}.",
        f"- For: {f.audience or 'the first segment'}" + (f" in {f.region}" if f.region else "") + ".",
    ]


def w_discounts(f: Facts, _t: TaskSpec) -> list[str]:
    p = f.price or Money(29, "usd")
    return [
        f"- Discount: 20% for the first 50 buyers ({p.times(0.8)}); no other discounts.",
        f"- Refunds: full refund within {f.refund_days} days of purchase, no questions asked; one refund per customer.",
    ]


def w_margin(f: Facts, _t: TaskSpec) -> list[str]:
    p = f.price or Money(29, "usd")
    fee = round(p.amount * 0.029 + 0.30, 2)
    net = round((p.amount - fee) * 0.95, 2)
    return [
        f"- Price {p.label}; payment fee ≈ {money(fee, p.currency)} (2.9% + 0.30).",
        f"- Assumed refunds 5% → net ≈ {money(net, p.currency)} per order before the cost of goods.",
    ]


def w_price_test(f: Facts, _t: TaskSpec) -> list[str]:
    p = f.price or Money(29, "usd")
    return [f"- After 100 visitors per variant, compare {p.label} with {p.times(1.3)}; keep the one with more revenue."]


def c_launch_price(doc: Doc, f: Facts, _c: str) -> str | None:
    stated = launch_price_in(doc.text)
    if stated is None:
        return "no “Launch price: **…**” line with an amount and a currency"
    if f.price is not None and (stated.amount, stated.currency) != (f.price.amount, f.price.currency):
        return f"the launch price {stated.label} differs from {f.price.label} in {f.price_source}"
    if "why:" not in doc.text.lower():
        return "the price has no reasoning (a “Why:” line)"
    return None


def c_discounts(doc: Doc, _f: Facts, _c: str) -> str | None:
    body = doc.section("discounts", "refund")
    if "discount" not in body.lower():
        return "no discount rule"
    found = _REFUND_DAYS.search(body)
    if not found:
        return "no refund rule with a number of days"
    return None


def c_margin(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("margin")
    if not body or "%" not in body or "fee" not in body.lower():
        return "no margin computed after payment fees and refunds"
    if f.price is not None and f.price.label not in body:
        return f"the margin is not computed on the price {f.price.label}"
    return None


# -- legal


def w_terms(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "*Not legal advice: a qualified lawyer must review this before go-live.*",
        f"- What is sold: {f.product} at {_price_line(f)}, to customers in {f.region or 'the selling region'}.",
        "- Payment is taken by the payment provider; the order is confirmed by email.",
        "- Liability is limited to the price paid; governing law: the seller's jurisdiction (to confirm).",
    ]


def w_refund_policy(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- Full refund within {f.refund_days} days of purchase, from the refund form or by email "
        f"(the rule in {f.refund_source}).",
        "- Refunds go back to the original payment method within 5 business days.",
    ]


def w_personal_data(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Name and email — to deliver the order, send the receipt and answer support questions.",
        "- Shipping address (physical goods only) — to deliver the order.",
        "- Payment confirmation (card data stays with the payment provider) — to keep tax records for 6 years.",
        "- Nothing else is collected; no tracking cookies.",
    ]


def w_lawyer(f: Facts, _t: TaskSpec) -> list[str]:
    region = f.region or "each selling region"
    return [
        f"- Consumer withdrawal rights in {region} against the {f.refund_days}-day refund rule.",
        f"- VAT or sales tax on {f.product} in {region}.",
        "- Whether a cookie banner is needed for the site as built.",
    ]


def c_refund_match(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("refund")
    if not body:
        return "there is no “Refund policy” section"
    found = _REFUND_DAYS.search(body)
    if not found:
        return "the refund policy states no number of days"
    days = int(found.group(1) or found.group(2))
    pricing = f.up("pricing")
    expected = refund_days_in(pricing.content) if pricing is not None else None
    expected = expected if expected is not None else f.refund_days
    if days != expected:
        return f"the refund window is {days} days here but {expected} days in the pricing rules"
    return None


def c_personal_data(doc: Doc, _f: Facts, _c: str) -> str | None:
    body = doc.section("personal data", "privacy")
    reasons = [i for i in _items(body) if " — " in i or " because " in i.lower()]
    if len(reasons) < 2:
        return "fewer than two kinds of personal data listed with why they are collected"
    return None


# -- website


def _site(doc: Doc) -> dict[str, str]:
    return doc.files


def c_site_offer(doc: Doc, f: Facts, _c: str) -> str | None:
    index = doc.files.get("index.html")
    if not index:
        return "there is no index.html"
    text = visible_text(index)
    if f.product.lower() not in text.lower():
        return f"index.html does not name the offer ({f.product})"
    if f.price is not None:
        if f.price.label not in text:
            return f"index.html does not show the price {f.price.label} (from {f.price_source})"
        others = _amounts(text, f.price.currency) - {f.price.amount}
        if others:
            return f"index.html shows other prices in {f.price.currency.upper()}: " + ", ".join(
                money(a, f.price.currency) for a in sorted(others)
            )
    if f.audience and not covers(text, f.audience, 0.5):
        return f"index.html does not say who it is for ({f.audience})"
    return None


def c_site_buy(doc: Doc, _f: Facts, _c: str) -> str | None:
    index = doc.files.get("index.html", "")
    if BUY_BUTTON not in index:
        return "index.html lacks the buy button launch points at the payment link"
    return None


def c_site_links(doc: Doc, _f: Facts, _c: str) -> str | None:
    problems = [p for p in site_problems(doc.files) if "links" in p or "missing file" in p or "does not link" in p]
    return "; ".join(problems[:3]) or None


def c_site_clean(doc: Doc, _f: Facts, _c: str) -> str | None:
    problems = [p for p in site_problems(doc.files) if "external" in p or "placeholder" in p]
    return "; ".join(problems[:3]) or None


def c_site_terms(doc: Doc, f: Facts, _c: str) -> str | None:
    terms = visible_text(doc.files.get("terms.html", ""))
    if not terms:
        return "there is no terms.html"
    if f"{f.refund_days} days" not in terms:
        return f"terms.html does not carry the {f.refund_days}-day refund rule from {f.refund_source}"
    return None


def w_site_summary(f: Facts, _t: TaskSpec) -> list[str]:
    legal = f.up("legal")
    spec = f.up("spec")
    return [
        f"- `index.html`: {f.product}, {_price_line(f)} (from {f.price_source}), "
        f"for {f.audience or 'the first customers'}, "
        "and the buy button that launch points at the payment link.",
        "- `terms.html` and `privacy.html`: from "
        + (f"the legal deliverable (v{legal.version})." if legal else "the refund rule and the data list."),
        "- `style.css`: the styles. No external resources; every link is relative.",
        "- What customers get comes from " + (f"the product spec (v{spec.version})." if spec else "the goal."),
    ]


def w_how_to_run(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Preview: open `index.html`, or run `python -m http.server` in the folder and visit http://localhost:8000.",
        "- Deploy: upload the four files to any static host; launch replaces the buy button with the payment link.",
    ]


# -- launch content


def _pages(f: Facts) -> list[str]:
    site = f.up("code")
    if site is not None and site.files:
        return sorted(p for p in site.files if p.endswith(".html"))
    return ["index.html", "terms.html", "privacy.html"]


def w_announcement(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"Introducing **{f.product}** for {f.audience or 'people who need it'}. "
        f"Available today at {_price_line(f)}, with refunds within {f.refund_days} days. "
        "Order from the buy button on the site (index.html), which goes to the payment link.",
    ]


def w_titles(f: Facts, _t: TaskSpec) -> list[str]:
    out = []
    for page in _pages(f):
        name = page.removesuffix(".html").capitalize()
        if page == "index.html":
            out.append(f"- {page} — title: “{f.product} — {_price_line(f)}” — meta: “{_value_line(f)}”")
        else:
            out.append(f"- {page} — title: “{name} | {f.product}” — meta: “{name} for buyers of {f.product}.”")
    return out


def w_posts(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"1. We made {f.product} for {f.audience or 'people like you'}. It is live today at {_price_line(f)}.",
        f"2. {f.product}: {_price_line(f)}, refunds within {f.refund_days} days, ordered in under a minute.",
        f"3. The first week of {f.product}: what buyers did first, and what we changed because of them.",
    ]


def c_announcement(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("announcement")
    if not body:
        return "there is no “Announcement” section"
    if f.price is not None and f.price.label not in body:
        return f"the announcement does not state the price {f.price.label}"
    if f.audience and not covers(body, f.audience, 0.5):
        return f"the announcement does not say who it is for ({f.audience})"
    if not re.search(r"link|index\.html|buy", body, re.IGNORECASE):
        return "the announcement does not point to the site or the payment link"
    return None


def c_titles(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("titles")
    missing = [p for p in _pages(f) if not re.search(rf"{re.escape(p)}.*title:.*meta:", body)]
    if missing:
        return "no title and meta description for " + ", ".join(missing)
    return None


# -- support


def w_onboarding(f: Facts, _t: TaskSpec) -> list[str]:
    return [f"- The receipt email gives access to {f.product} and one tip for a first win within a day."]


def w_questions(f: Facts, _t: TaskSpec) -> list[str]:
    qa = [
        ("Where is my order?", "the receipt email has the tracking or access link."),
        ("Can I get an invoice?", "yes, reply to the receipt email."),
        ("How do refunds work?", f"full refund within {f.refund_days} days from the refund form."),
        ("What does it cost?", f"{_price_line(f)}."),
        ("Who is it for?", f"{f.audience or 'anyone who needs it'}."),
        ("Where do you deliver?", f"{f.region or 'the selling region'}."),
        ("Is my data safe?", "we keep name, email and payment confirmation only; see the privacy page."),
        ("Are there discounts?", "20% for the first 50 buyers, nothing else."),
        ("Can I buy several?", "yes; for more than ten, write to us first."),
        ("How do I contact you?", "reply to any email from us; we answer within 24 hours."),
    ]
    return [f"{i}. {q} — {a}" for i, (q, a) in enumerate(qa, start=1)]


def w_response(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- First reply within 24 hours on working days; refunds processed within 2 days.",
        "- Escalate to the CEO: payment disputes, legal questions, anything about personal data.",
    ]


def w_refund_steps(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"1. Check the order date: refunds within {f.refund_days} days ({f.refund_source}).",
        "2. Refund in the payment dashboard to the original payment method.",
        "3. Reply with the confirmation and log the reason in the refund sheet.",
    ]


def c_refund_steps(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("refund")
    steps = [i for i in _items(body) if re.match(r"^\d+[.)]", i)]
    if len(steps) < 3:
        return f"{len(steps)} numbered refund steps; 3 are needed"
    found = _REFUND_DAYS.search(body)
    if found and int(found.group(1) or found.group(2)) != f.refund_days:
        return f"the refund steps use a different window than the {f.refund_days} days in {f.refund_source}"
    return None


# -- research projects

_STRANDS = [
    ("Foundations", "the theory and definitions behind {t}", "“{t}” review OR survey"),
    ("Measurement", "how {t} has been measured and with which data", "“{t}” measurement OR dataset"),
    ("Causes", "what drives {t}, and the evidence for each driver", "“{t}” determinants OR drivers"),
    ("Interventions", "what has been tried to change {t} and how well it worked", "“{t}” intervention evaluation"),
    ("Context", "studies of {t} in {r}", "“{t}” {r} case study"),
    ("Methods", "methods other researchers used on {t} and their limits", "“{t}” methodology limitations"),
]


def w_strands(f: Facts, _t: TaskSpec) -> list[str]:
    region = f.region or f.answers.get("region", "") or "the setting of this project"
    return [
        f"{i}. {name} — {what.format(t=f.topic, r=region)}; search: {query.format(t=f.topic, r=region)}"
        for i, (name, what, query) in enumerate(_STRANDS, start=1)
    ] + ["", "The offline provider cites no papers: it names what to find and how, and invents nothing."]


def w_gap(f: Facts, _t: TaskSpec) -> list[str]:
    return [f"- Working gap to confirm with the literature: little evidence on {f.topic} that answers “{f.question}”."]


def w_sources(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Google Scholar and the university library's catalogue.",
        "- Web of Science or Scopus for citation tracking.",
        "- The subject's main journals and recent theses in the university repository.",
    ]


def w_rq(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"Research question: {f.question}",
        f"- H1: measurable differences in {f.topic} follow from a small number of drivers found in the literature.",
        "- H2: at least one of those drivers can be changed, with an effect that can be measured within the project.",
    ]


def w_method(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- Method: a mixed design — a literature-based model of {f.topic}, tested on data.",
        "- Data: an existing public dataset where one exists; otherwise a survey designed from the model.",
        "- Sample: at least 100 cases (survey) or the full dataset, with the selection rule written down.",
    ]


def w_validity(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Selection bias → state the sampling rule before collecting; compare the sample with the population.",
        "- Measurement error → pilot the instrument on 10 cases; report reliability.",
        "- Confounding → control for the drivers named in the literature review.",
    ]


def _weeks(f: Facts) -> list[str]:
    until = f", {f.deadline}" if f.deadline else ""
    return [
        "- Week 1-3: literature review and research question agreed.",
        "- Week 4-6: method, instrument and ethics approval.",
        "- Week 7-10: data collection.",
        "- Week 11-13: analysis.",
        "- Week 14-17: writing, then a full draft to the supervisor.",
        f"- Week 18: revisions and submission{until}.",
    ]


def w_deadline(f: Facts, _t: TaskSpec) -> list[str]:
    lines = [
        f"- Deadline: {f.deadline}." if f.deadline else "- Deadline: none given by the CEO; the plan assumes 18 weeks."
    ]
    lines += [f"- Constraint: {c}." for c in f.constraints] or ["- Constraints: none given."]
    return lines


def w_checkpoints(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Supervisor checkpoint 1 (week 3): research question and literature map.",
        "- Supervisor checkpoint 2 (week 6): method and ethics application.",
        "- Supervisor checkpoint 3 (week 14): full draft.",
    ]


def c_deadline(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("deadline", "constraints")
    if not body:
        return "there is no “Deadline and constraints” section"
    if f.deadline and f.deadline.lower() not in body.lower():
        return f"the CEO's deadline ({f.deadline}) is not in the plan"
    missing = [c for c in f.constraints if not covers(body, c, 0.6)]
    if missing:
        return "the CEO's constraints are missing: " + "; ".join(missing[:3])
    return None


def w_collection(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- Source: the dataset or survey chosen in the research design, on {f.topic}.",
        "- Procedure: pilot with 10 cases, then the full collection with a fixed protocol.",
    ]


def w_analysis(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Descriptive statistics and plots for every variable first.",
        "- Regression (or a non-parametric test when assumptions fail) for H1 and H2.",
    ]


def w_ethics(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Ethics approval from the university's committee before any data collection.",
        "- Informed consent for every participant; data anonymised at collection; GDPR-compliant storage.",
    ]


def _strand_names(f: Facts) -> list[str]:
    lit = f.up("research")
    if lit is None:
        return [name for name, _, _ in _STRANDS[:3]]
    return re.findall(r"^\d+\.\s+([^—\n]+?)\s+—", lit.content, re.MULTILINE)


def w_outline(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "1. Introduction — the research question and why it matters.",
        "2. Literature review — the strands of prior work and the gap.",
        "3. Method — design, data, sample, ethics.",
        "4. Results — the analysis, hypothesis by hypothesis.",
        "5. Discussion — what the results mean, limits, threats to validity.",
        "6. Conclusion — the answer to the research question and next steps.",
    ]


def w_intro(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"This thesis studies {f.topic}. It asks: {f.question} "
        f"The question matters to {f.audience or 'researchers and practitioners in the field'} because the evidence "
        "is scattered and rarely tested on data from one setting.",
    ]


def w_related(f: Facts, _t: TaskSpec) -> list[str]:
    return [f"- {name.strip()}: reviewed in chapter 2." for name in _strand_names(f)]


def c_intro(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("introduction")
    if not body:
        return "there is no “Draft introduction” section"
    design = f.up("spec", "document")
    question = f.question
    if design is not None:
        found = re.search(r"Research question:\s*(.+)", design.content)
        question = found.group(1).strip() if found else question
    if question not in body:
        return f"the introduction does not state the research question ({question})"
    return None


def c_related(doc: Doc, f: Facts, _c: str) -> str | None:
    body = doc.section("related work", "literature")
    names = [n.strip() for n in _strand_names(f)]
    missing = [n for n in names if n not in body]
    if not body or missing:
        return "the literature review's strands are not used: " + ", ".join(missing[:4] or ["(no section)"])
    return None


# -- content projects


def _cadence(f: Facts) -> str:
    text = f.answers.get("format", "") or f.answers.get("cadence", "")
    return short(text, 80) if text else "weekly"


def w_audience(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- Audience: {f.audience or 'readers who care about ' + f.topic}.",
        f"- Where they already are: search, two or three communities about {f.topic}, and newsletters they forward.",
    ]


def w_comparable(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- The established publication on {f.topic} — broad, infrequent (type; check real names).",
        f"- A practitioner's blog on {f.topic} — deep, irregular.",
        f"- A social account summarising {f.topic} — frequent, shallow.",
    ]


def w_angle(f: Facts, _t: TaskSpec) -> list[str]:
    return [f"- Practical and regular: one useful, specific piece on {f.topic} per issue, {_cadence(f)}."]


def w_format(f: Facts, _t: TaskSpec) -> list[str]:
    return [f"- Format and cadence: {_cadence(f)}.", f"- Language and region: {f.region or 'English, worldwide'}."]


def w_topics(f: Facts, _t: TaskSpec) -> list[str]:
    angles = [
        "a beginner's map of",
        "five mistakes people make with",
        "the tools for",
        "a case study in",
        "what changed this year in",
        "a reader's question about",
        "the numbers behind",
        "an interview on",
        "a checklist for",
        "myths about",
    ]
    return [f"{i}. {a.capitalize()} {f.topic}" for i, a in enumerate(angles, start=1)]


def w_success90(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- 500 subscribers or listeners by day 90; 40% open or listen-through rate; 10 replies or comments per issue."
    ]


def w_pieces(f: Facts, _t: TaskSpec) -> list[str]:
    topics = [t.split(". ", 1)[1] for t in w_topics(f, _t)[:3]]
    out = []
    for i, title in enumerate(topics, start=1):
        out += [
            f"### Piece {i}: {title}",
            f"Summary: {title} — for {f.audience or 'our readers'}, in one sitting.",
            f"{title} starts with the situation most readers are in today and the one decision that matters most. "
            f"It walks through three concrete steps, each with an example from {f.topic}, names the common mistake at "
            "each step, and ends with what to do this week. Every claim is marked as experience or as a source to "
            "check; the piece closes with a question for readers to answer.",
            "",
        ]
    return out


def c_pieces(doc: Doc, _f: Facts, criterion: str) -> str | None:
    body = doc.section("drafts", "pieces")
    pieces = re.split(r"^### ", body, flags=re.MULTILINE)[1:]
    need = _count(criterion, 3)
    full = [p for p in pieces if len(p.split()) >= 60]
    if len(full) < need:
        return f"{len(full)} full pieces (60 words or more); {need} are needed"
    if any("summary:" not in p.lower() for p in full):
        return "not every piece has a title and a summary"
    return None


def w_keywords(f: Facts, _t: TaskSpec) -> list[str]:
    topics = [t.split(". ", 1)[1] for t in w_topics(f, _t)]
    return [f"- {t} → “{t.lower()}”" for t in topics]


def w_channels(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- Search — people look for {f.topic} answers; each piece targets one query.",
        f"- The two communities where {f.audience or 'the audience'} already talk about {f.topic} "
        "— one post per piece.",
    ]


def w_first30(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Week 1: publish piece 1, post in both channels, ask ten people for feedback.",
        "- Week 2: piece 2; reply to every comment.",
        "- Week 3: piece 3; one guest post or swap.",
        "- Week 4: read the numbers against the target; keep or change one channel.",
    ]


def w_growth_target(_f: Facts, _t: TaskSpec) -> list[str]:
    return ["- 200 subscribers or followers by day 30, with a 35% open rate."]


# -- improvements from KPI reviews, feedback and steering tasks


def w_refund_reasons(_f: Facts, t: TaskSpec) -> list[str]:
    return [
        f"- From the KPIs: {short(t.description, 120)}",
        "- Reasons are not recorded yet: add a required reason field to the refund form (not as described, "
        "arrived damaged, changed my mind, too expensive).",
    ]


def w_refund_changes(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "- Onboarding: a first-day email with one tip and a reply-to for questions before refunding.",
        f"- Refund policy: keep {f.refund_days} days; ask for the reason; offer an exchange first.",
    ]


def w_refund_target(_f: Facts, _t: TaskSpec) -> list[str]:
    return ["- Target: refund rate under 5% of orders by the next review."]


def w_issues(_f: Facts, t: TaskSpec) -> list[str]:
    return [
        f"- {short(t.description, 140)}",
        "- Each open issue gets a fix or a written answer and is closed with a link to it.",
    ]


def w_readme_note(_f: Facts, t: TaskSpec) -> list[str]:
    return [f"- README: a “What changed” entry for this round: {t.title.lower()}, and how to check it."]


def w_prevention(_f: Facts, _t: TaskSpec) -> list[str]:
    return ["- A check in the release steps that reproduces the most common issue before each change goes live."]


def w_experiment(f: Facts, _t: TaskSpec) -> list[str]:
    return [
        f"- Hypothesis: a clearer first screen for {f.audience or 'visitors'} raises visitor-to-order conversion.",
        "- Metric: visitor-to-order conversion, measured in the payment dashboard.",
        "- Stop rule: stop after 2 weeks or 500 visitors per variant, whichever comes first.",
    ]


def _budget_in(criterion: str, f: Facts) -> str:
    price = parse_price(criterion)
    return money(price.amount, price.currency or (f.price.currency if f.price else "usd")) if price else "100 USD"


def w_budget(f: Facts, t: TaskSpec) -> list[str]:
    budget = next((_budget_in(c, f) for c in t.acceptance_criteria if "budget" in c.lower()), "100 USD")
    return [f"- Budget: at most {budget}, spent on one channel; no spend beyond it without the CEO."]


def w_readout(_f: Facts, _t: TaskSpec) -> list[str]:
    return ["- Read the result on day 14 (or at 500 visitors per variant) and report it at the next review."]


def w_directions(f: Facts, t: TaskSpec) -> list[str]:
    lines = []
    for point in f.directions:
        change = []
        if f.price is not None and parse_price(point):
            change.append(f"the price is {f.price.full} throughout")
        target = audience_in_instruction(point)
        if target:
            change.append(f"written for {target}")
        change.append(f"this {t.deliverable_kind} deliverable follows it")
        lines.append(f"- “{point}” → " + "; ".join(change) + ".")
    return lines or ["- No CEO direction to apply."]


def c_directions(doc: Doc, _f: Facts, criterion: str) -> str | None:
    found = _CEO_POINT.search(criterion)
    point = found.group(1).strip() if found else criterion
    body = doc.section(DIRECTIONS_HEADING.lower())
    if not covers(body, point, 0.6):
        return f"the CEO's direction is not applied: “{point}”"
    return None


def w_what_changed(_f: Facts, t: TaskSpec) -> list[str]:
    return [
        f"- {short(t.description, 160)} → the deliverable above was written for it; earlier work stays unless listed."
    ]


def w_earlier(f: Facts, _t: TaskSpec) -> list[str]:
    if not f.upstream:
        return ["- None of the earlier deliverables need to change beyond what is described here."]
    return [f"- {u.title} (task {u.task_id}, v{u.version}): check it against the change above." for u in f.upstream]


# -- generic


def w_approach(f: Facts, t: TaskSpec) -> list[str]:
    return [
        f"- Scope: {t.description or t.title}",
        f"- For {f.product}" + (f" at {f.price.full}" if f.price else "") + f"; goal: {short(f.goal, 100)}.",
    ]


def w_plan_of_work(_f: Facts, _t: TaskSpec) -> list[str]:
    return [
        "1. State the current situation and the target.",
        "2. List the concrete changes with owners and dates.",
        "3. Define the metric that shows it worked, and when to check it.",
    ]


def _any(_doc: Doc, _f: Facts, _c: str) -> str | None:
    return None


# Order matters: the first rule whose pattern matches a criterion checks it, so the specific
# patterns (the CEO's directions, improvements) come before the general ones.
RULES: list[Rule] = [
    # CEO feedback and steering (the instruction's own words may name prices, refunds…)
    Rule("directions", DIRECTIONS_HEADING, w_directions, c_directions, r"ceo's (feedback|instruction)"),
    # improvements from KPI reviews
    has("readme-note", "README note", w_readme_note, r"changed", pattern=r"readme note"),
    needs("what-changed", "What changed and why", w_what_changed, 1, pattern=r"what changed"),
    needs("earlier", "Earlier deliverables affected", w_earlier, 1, pattern=r"earlier deliverables"),
    has(
        "experiment",
        "Experiment",
        w_experiment,
        r"Hypothesis:",
        r"Metric:",
        r"Stop rule:",
        pattern=r"hypothesis, a metric",
    ),
    has("budget", "Budget", w_budget, r"\d", pattern=r"budget"),
    has("readout", "Read-out", w_readout, r"day \d+", pattern=r"when the result"),
    Rule(
        "refund-reasons", "Refund reasons", w_refund_reasons, _needs("Refund reasons", 2, "reasons"), r"refund reasons"
    ),
    has(
        "refund-changes",
        "Changes to onboarding and refunds",
        w_refund_changes,
        r"onboarding",
        r"refund",
        pattern=r"onboarding and the refund",
    ),
    has("refund-target", "Refund target", w_refund_target, r"\d+%", pattern=r"target refund rate"),
    needs("issues", "Open issues", w_issues, 2, "entries", pattern=r"open issue"),
    has("prevention", "Prevention check", w_prevention, r"check", pattern=r"prevents"),
    # selling: research
    Rule("competitors", "Competitors", w_competitors, c_competitors, r"competitor"),
    Rule("market-size", "Market size", w_market_size, c_market_size, r"\bsiz(e|es|ing)\b|segment"),
    Rule("implications", "Implications", w_implications, c_implications, r"implication"),
    # spec
    Rule("problem", "Problem", w_problem, _any),
    has("scope", "Scope (v1)", w_scope, r"In scope", r"Out of scope", pattern=r"\bscope\b"),
    Rule("stories", "User stories", w_stories, c_stories, r"user stor"),
    Rule("metrics", "Success metrics", w_metrics, c_metrics, r"success metric|measurable .*metric"),
    # pricing
    Rule("launch-price", "Recommendation", w_launch_price, c_launch_price, r"launch (price|rate)|price .*reason"),
    Rule("discounts", "Discounts and refunds", w_discounts, c_discounts, r"discount"),
    Rule("margin", "Margin", w_margin, c_margin, r"margin"),
    Rule("price-test", "Test after launch", w_price_test, _any),
    # legal
    has("terms", "Terms of service", w_terms, r"\S", pattern=r"terms of service|service agreement"),
    Rule("refund-policy", "Refund policy", w_refund_policy, c_refund_match, r"refund policy|matches the pricing"),
    Rule("personal-data", "Privacy: personal data", w_personal_data, c_personal_data, r"personal data"),
    needs("lawyer", "For the lawyer", w_lawyer, 2, "points", pattern=r"lawyer"),
    # website (files; the sections describe them)
    Rule("site", "What was built", w_site_summary, c_site_offer, r"home page|above the fold|states the offer"),
    Rule("site-buy", "What was built", w_site_summary, c_site_buy, r"buy button|call to action|payment link"),
    Rule("site-links", "What was built", w_site_summary, c_site_links, r"terms and privacy|local link|links resolve"),
    Rule("site-clean", "What was built", w_site_summary, c_site_clean, r"external resource|placeholder"),
    Rule("site-terms", "What was built", w_site_summary, c_site_terms, r"terms page carries|refund rule on the site"),
    has(
        "how-to-run", "How to preview and deploy", w_how_to_run, r"\S", pattern=r"readme with|how to run|how to preview"
    ),
    # launch content
    Rule("announcement", "Announcement", w_announcement, c_announcement, r"announcement"),
    Rule("titles", "Page titles and meta descriptions", w_titles, c_titles, r"title and meta|meta description"),
    needs("posts", "Social posts", w_posts, 3, "posts", pattern=r"social post|ready-to-post"),
    # support
    Rule("onboarding", "Onboarding", w_onboarding, _any),
    needs(
        "questions",
        "Top questions",
        w_questions,
        10,
        "answered questions",
        pattern=r"customer questions|top questions|likely questions",
    ),
    has(
        "response",
        "Response times and escalation",
        w_response,
        r"\d+\s+hours",
        r"escalat",
        pattern=r"response.time|escalation",
    ),
    Rule("refund-steps", "Refund handling", w_refund_steps, c_refund_steps, r"refund handling|refund steps"),
    # research projects
    Rule("related", "Related work in this thesis", w_related, c_related, r"literature review's|strands from"),
    needs("strands", "Prior work to review", w_strands, 5, "strands", pattern=r"strands of prior work"),
    has("gap", "The gap", w_gap, r"\S", pattern=r"\bgap\b"),
    needs("sources", "Where to search", w_sources, 3, "sources", pattern=r"databases|sources to search"),
    has(
        "rq",
        "Research question and hypotheses",
        w_rq,
        r"\?",
        r"^- H2",
        explain="no research question (ending in ?) with two hypotheses",
        pattern=r"research question and|hypothes",
    ),
    Rule(
        "method",
        "Method, data and sample",
        w_method,
        _has("Method, data and sample", r"Method:", r"Data:", r"Sample:"),
        r"method, data",
    ),
    needs("validity", "Threats to validity", w_validity, 2, "threats", pattern=r"validity"),
    Rule(
        "milestones", "Milestones", lambda f, _t: _weeks(f), _needs("Milestones", 4, "dated milestones"), r"milestone"
    ),
    Rule("deadline", "Deadline and constraints", w_deadline, c_deadline, r"deadline"),
    Rule(
        "checkpoints",
        "Supervisor checkpoints",
        w_checkpoints,
        _needs("Supervisor checkpoints", 2, "checkpoints"),
        r"supervisor",
    ),
    needs("collection", "Data collection", w_collection, 2, "steps", pattern=r"data is collected"),
    needs("analysis", "Analysis methods", w_analysis, 2, "methods", pattern=r"analysis method"),
    has("ethics", "Ethics and data protection", w_ethics, r"ethic", r"consent|anonymi|GDPR", pattern=r"ethic"),
    needs("outline", "Chapter outline", w_outline, 5, "chapters", pattern=r"outline"),
    Rule("intro", "Draft introduction", w_intro, c_intro, r"introduction"),
    # content projects
    has("audience", "Audience", w_audience, r"Audience:", pattern=r"audience"),
    needs("comparable", "Comparable publications", w_comparable, 3, "comparables", pattern=r"comparable"),
    has("angle", "Our angle", w_angle, r"\S", pattern=r"differently"),
    has("format", "Format and cadence", w_format, r"cadence:", pattern=r"cadence"),
    needs("keywords", "Keyword map", w_keywords, 5, "keywords", pattern=r"keyword"),
    needs("topics", "First topics", w_topics, 10, "topics", pattern=r"topics"),
    has("success90", "Success at 90 days", w_success90, r"\d", pattern=r"90 days|success is measured"),
    Rule("pieces", "Drafts", w_pieces, c_pieces, r"pieces in full|first three pieces|each piece"),
    needs("channels", "Channels", w_channels, 2, "channels", pattern=r"channel"),
    needs("first30", "First 30 days", w_first30, 4, "weeks", pattern=r"30 days"),
    has("growth-target", "Target", w_growth_target, r"\d", pattern=r"growth target"),
    # generic
    Rule("approach", "Approach", w_approach, _any),
    Rule("plan-of-work", "Plan of work", w_plan_of_work, _any),
]
_BY_NAME = {r.name: r for r in RULES}
_MATCHERS = [(re.compile(r.pattern, re.IGNORECASE), r) for r in RULES if r.pattern]


def rule_for(criterion: str) -> Rule | None:
    """The rule that recognises a criterion (first match in RULES order), or None."""
    for pattern, rule in _MATCHERS:
        if pattern.search(criterion):
            return rule
    return None


# Sections a deliverable of each kind carries besides what its criteria ask for.
_TEMPLATES: dict[tuple[str, bool], list[str]] = {
    ("research", True): ["market-size", "competitors", "implications"],
    ("research", False): ["strands", "gap", "sources"],
    ("spec", True): ["problem", "scope", "stories", "metrics"],
    ("spec", False): ["rq", "method", "validity"],
    ("pricing", True): ["launch-price", "discounts", "margin", "price-test"],
    ("legal", True): ["terms", "refund-policy", "personal-data", "lawyer"],
    ("content", True): ["announcement", "titles", "posts"],
    ("support", True): ["onboarding", "questions", "response", "refund-steps"],
    ("seo", True): ["keywords", "titles"],
    ("seo", False): ["keywords"],
    ("marketing", True): ["channels", "first30", "growth-target"],
    ("marketing", False): ["channels", "first30", "growth-target"],
}


def template(task: TaskSpec, kind: GoalKind) -> list[Rule]:
    selling = kind in SELLING_KINDS
    if is_website_task(task.role, task.deliverable_kind, task.title, task.id):
        names = ["site", "how-to-run"]
    elif kind == GoalKind.research and task.deliverable_kind == "content":
        names = ["outline", "intro", "related"]
    elif kind == GoalKind.research and task.deliverable_kind == "document":
        names = ["milestones", "deadline", "checkpoints"]
    elif kind == GoalKind.research and task.deliverable_kind == "analytics":
        names = ["collection", "analysis", "ethics"]
    elif kind == GoalKind.content and task.deliverable_kind in ("strategy", "spec"):
        names = ["format", "topics", "success90"]
    elif kind == GoalKind.content and task.deliverable_kind == "research":
        names = ["audience", "comparable", "angle"]
    elif kind == GoalKind.content and task.deliverable_kind == "content":
        names = ["pieces"]
    else:
        names = _TEMPLATES.get((task.deliverable_kind, selling)) or _TEMPLATES.get(
            (task.deliverable_kind, True), ["approach", "plan-of-work"]
        )
    rules = [_BY_NAME[n] for n in names]
    for criterion in task.acceptance_criteria:
        rule = rule_for(criterion)
        if rule is not None and all(r.heading != rule.heading for r in rules):
            rules.append(rule)
    if ceo_points(task, []) and all(r.name != "directions" for r in rules):
        rules.append(_BY_NAME["directions"])
    return rules


# --- the website ----------------------------------------------------------------------------------

CSS = """\
:root { --ink: #1d2433; --muted: #5b6475; --accent: #2f5bd3; --bg: #fbfaf7; }
* { box-sizing: border-box; }
body { margin: 0; font: 17px/1.55 system-ui, sans-serif; color: var(--ink); background: var(--bg); }
header, main, footer { max-width: 46rem; margin: 0 auto; padding: 1.25rem; }
.brand { font-weight: 700; }
.hero h1 { font-size: 2.4rem; line-height: 1.15; margin: 0.5rem 0; }
.lead { font-size: 1.2rem; color: var(--muted); }
.price { font-size: 1.6rem; margin: 1rem 0; }
a.buy { display: inline-block; padding: 0.8rem 1.4rem; border-radius: 0.5rem; background: var(--accent);
  color: #fff; text-decoration: none; font-weight: 600; }
a.buy:focus, a.buy:hover { outline: 3px solid #9db3ee; }
.small { font-size: 0.9rem; color: var(--muted); }
footer { border-top: 1px solid #ddd; font-size: 0.9rem; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _md_to_html(body: str) -> str:
    """The few markdown shapes the offline writers use: bullets, numbered items, paragraphs."""
    out: list[str] = []
    items: list[str] = []
    for raw in body.splitlines():
        line = raw.strip()
        bullet = re.match(r"^(?:[-*]|\d+[.)])\s+(.*)$", line)
        if bullet:
            items.append(bullet.group(1))
            continue
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items = []
        if line and not line.startswith("|"):
            out.append(f"<p>{_inline(line)}</p>")
    if items:
        out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
    return "\n".join(out)


def _inline(text: str) -> str:
    text = _e(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _page(title: str, product: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{_e(title)}</title>
  <link rel="stylesheet" href="style.css">
</head>
<body>
  <header><a class="brand" href="index.html">{_e(product)}</a></header>
  <main>
{body}
  </main>
  <footer>
    <p><a href="index.html">Home</a> · <a href="terms.html">Terms</a> · <a href="privacy.html">Privacy</a></p>
    <p class="small">Written by Boardroom's offline provider from the project's deliverables (no LLM).</p>
  </footer>
</body>
</html>
"""


def _legal_parts(f: Facts) -> tuple[str, str]:
    legal = f.up("legal")
    if legal is not None:
        parts = {h.lower(): b for h, b in sections(legal.content)}
        terms = [b for h, b in parts.items() if "terms" in h or "refund" in h]
        privacy = [b for h, b in parts.items() if "privacy" in h or "personal data" in h]
        if terms and privacy:
            return "\n".join(terms), "\n".join(privacy)
    # No legal deliverable: the same writers the legal counsel uses, from the same facts.
    terms_lines = [*w_terms(f, _NO_TASK), *w_refund_policy(f, _NO_TASK)]
    return "\n".join(terms_lines), "\n".join(w_personal_data(f, _NO_TASK))


_NO_TASK = TaskSpec(id="site", title="Website", role="web-developer", deliverable_kind="code")


def _value_line(f: Facts) -> str:
    """The value proposition from the product spec when there is one."""
    spec = f.up("spec")
    if spec is not None:
        found = re.search(r"^- Value:\s*(.+)$", spec.content, re.MULTILINE)
        if found:
            return short(found.group(1), 200)
    return value_line(f)


def site_index(f: Facts) -> str:
    price = f.price or Money(29, "usd")
    who = f"For {f.audience}" + (f" in {f.region}" if f.region else "") + "." if f.audience else ""
    unit = f' <span class="unit">{_e(price.unit)}</span>' if price.unit else ""
    body = f"""    <section class="hero">
      <h1>{_e(f.product)}</h1>
      <p class="lead">{_e(_value_line(f))}</p>
      {f'<p class="for">{_e(who)}</p>' if who else ""}
      <p class="price"><strong>{_e(price.label)}</strong>{unit}</p>
      {BUY_BUTTON}
      <p class="small">Refunds within {f.refund_days} days. Read the <a href="terms.html">terms</a> and the
        <a href="privacy.html">privacy policy</a>.</p>
    </section>"""
    return _page(f"{f.product} — {price.label}", f.product, body)


def site_terms(f: Facts) -> str:
    terms, _ = _legal_parts(f)
    return _page(f"Terms | {f.product}", f.product, f"    <h1>Terms and refunds</h1>\n{_md_to_html(terms)}")


def site_privacy(f: Facts) -> str:
    _, privacy = _legal_parts(f)
    return _page(f"Privacy | {f.product}", f.product, f"    <h1>Privacy</h1>\n{_md_to_html(privacy)}")


SITE_WRITERS: dict[str, Callable[[Facts], str]] = {
    "index.html": site_index,
    "terms.html": site_terms,
    "privacy.html": site_privacy,
    "style.css": lambda _f: CSS,
}


def site_files(f: Facts) -> dict[str, str]:
    return {name: write(f) for name, write in SITE_WRITERS.items()}


def files_to_fix(problem: str) -> list[str]:
    """The site files a QA problem points at."""
    named = [name for name in SITE_WRITERS if name in problem]
    if named:
        return named
    if "buy button" in problem or "price" in problem or "who it is for" in problem or "offer" in problem:
        return ["index.html"]
    return list(SITE_WRITERS)


# --- the rubric -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    criterion: str
    met: bool
    reason: str = ""


@dataclass(frozen=True)
class Rubric:
    score: float
    verdicts: list[Verdict]
    advisories: list[str]

    @property
    def unmet(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.met]

    def issues(self, task: TaskSpec) -> list[ReviewIssue]:
        severity = "high" if task.risk == Risk.high else "medium"
        out = [ReviewIssue(severity=severity, text=f"Not met — “{v.criterion}”: {v.reason}.") for v in self.unmet]
        out += [ReviewIssue(severity="low", text=f"Advisory: {a}.") for a in self.advisories]
        return out

    def summary(self) -> str:
        total = len(self.verdicts)
        met = total - len(self.unmet)
        text = f"[offline rubric] {met}/{total} acceptance criteria met"
        if self.unmet:
            text += "; not met: " + "; ".join(short(v.criterion, 60) for v in self.unmet[:3])
        return text + "."


def unknown_reason() -> str:
    return (
        "the offline rubric has no check for this criterion and the offline templates cannot meet it; "
        "the CEO decides (or an LLM provider does the work)"
    )


def check(task: TaskSpec, content: str, files: dict[str, str], f: Facts, expected_upstream: int = 0) -> Rubric:
    """Score a deliverable against the task's acceptance criteria (see the module docstring)."""
    doc = Doc.read(content, files, task.acceptance_criteria)
    verdicts: list[Verdict] = []
    if not content.strip() or not any(doc.parts.values()):
        return Rubric(1.0, [Verdict(c, False, "the deliverable is empty") for c in task.acceptance_criteria], [])
    for criterion in task.acceptance_criteria:
        rule = rule_for(criterion)
        if rule is None:
            verdicts.append(Verdict(criterion, False, unknown_reason()))
            continue
        reason = rule.check(doc, f, criterion)
        verdicts.append(Verdict(criterion, reason is None, reason or ""))
    if files and "index.html" in files:
        # A site is checked as a site whatever its criteria say: no dead link, nothing external.
        for problem in site_problems(files):
            verdicts.append(Verdict("The site works offline (internal check)", False, problem))
    advisories = []
    if expected_upstream > len(f.upstream):
        advisories.append(
            f"written without {expected_upstream - len(f.upstream)} of the deliverables this task depends on"
        )
    if (
        f.price is not None
        and task.deliverable_kind == "pricing"
        and not (f.answers.get("price") or "CEO" in f.price_source or "pricing" in f.price_source)
    ):
        advisories.append("the price is a proposal: the CEO named none")
    total = len(verdicts)
    met = sum(1 for v in verdicts if v.met)
    if total == 0 or met == total:
        score = MAX_OFFLINE_SCORE - ADVISORY_COST * len(advisories)
    else:
        score = min(UNMET_CAP, 2.0 + 4.0 * met / total)
    return Rubric(round(max(0.0, min(score, MAX_OFFLINE_SCORE)), 2), verdicts, advisories)


# --- writing and revising -------------------------------------------------------------------------


def header(task: TaskSpec, role_title: str, round_: int, f: Facts, brief: Brief) -> str:
    inputs = []
    if f.price is not None:
        inputs.append(f"- Price: {f.price.full} (from {f.price_source})")
    if f.audience:
        inputs.append(f"- Audience: {f.audience}")
    if f.region:
        inputs.append(f"- Region: {f.region}")
    inputs.append(
        f"- CEO answers: {len(f.answers)}; research: {'yes' if brief.research or f.research_summary else 'no'}"
    )
    for u in f.upstream:
        inputs.append(f"- Builds on: {u.title} (task {u.task_id}, v{u.version})")
    return (
        f"{OFFLINE_LABEL}\n\n# {task.title}\n\n*{role_title} · {task.deliverable_kind} · version {round_} · "
        f"{task.risk.value} risk · task `{task.id}`*\n\n## Brief\n\n{task.description or task.title}\n\n"
        f"## {INPUTS_HEADING}\n\n" + "\n".join(inputs)
    )


def write(task: TaskSpec, f: Facts) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The sections (heading, body) and files of a first version."""
    parts: list[tuple[str, str]] = []
    for rule in template(task, f.kind):
        if any(h == rule.heading for h, _ in parts):
            continue
        parts.append((rule.heading, "\n".join(rule.write(f, task))))
    files = site_files(f) if is_website_task(task.role, task.deliverable_kind, task.title, task.id) else {}
    return parts, files


_ISSUE_CRITERION = re.compile(r"“(.+?)”")


@dataclass
class Revision:
    parts: list[tuple[str, str]]
    files: dict[str, str]
    notes: list[str] = field(default_factory=list)


def revise(task: TaskSpec, f: Facts, previous: str, previous_files: dict[str, str], feedback: list[str]) -> Revision:
    """The previous version changed where each issue points; the rest is kept as it was."""
    parts = [(h, b) for h, b in sections(previous) if h and h.lower() not in _IGNORED and h != "Brief"]
    files = dict(previous_files)
    notes: list[str] = []

    def put(heading: str, body: str) -> bool:
        for i, (h, old) in enumerate(parts):
            if h == heading:
                if old == body:
                    return False
                parts[i] = (heading, body)
                return True
        parts.append((heading, body))
        return True

    for n, item in enumerate(feedback, start=1):
        quoted = _ISSUE_CRITERION.search(item)
        criterion = quoted.group(1) if quoted and "Not met" in item else ""
        if "Advisory:" in item:
            notes.append(f"{n}. {item} — noted; nothing in the text to change.")
            continue
        if criterion:
            rule = rule_for(criterion)
            if rule is None and criterion.startswith("The site works offline"):
                rule = _BY_NAME["site-links"]
            if rule is None:
                notes.append(
                    f"{n}. {item} — not changed: the offline templates cannot meet this criterion; it needs "
                    "the CEO's input or an LLM provider."
                )
                continue
            changed = []
            if rule.name.startswith("site"):
                for name in files_to_fix(item):
                    new = SITE_WRITERS[name](f)
                    if files.get(name) != new:
                        files[name] = new
                        changed.append(f"`{name}`")
            if put(rule.heading, "\n".join(rule.write(f, task))):
                changed.append(f"section “{rule.heading}”")
            notes.append(f"{n}. {item} — " + (f"rewrote {', '.join(changed)}." if changed else "already as required."))
            continue
        # A free-text request (the CEO's revise comment, guidance): apply it as a direction and
        # rewrite every section whose text it changes (a new price or audience shows everywhere).
        changed = []
        directions = _BY_NAME["directions"]
        if put(directions.heading, "\n".join(directions.write(f, task))):
            changed.append(f"section “{directions.heading}”")
        for rule in template(task, f.kind):
            if rule.name == "directions":
                continue
            if put(rule.heading, "\n".join(rule.write(f, task))):
                changed.append(f"section “{rule.heading}”")
        if files:
            for name, writer in SITE_WRITERS.items():
                new = writer(f)
                if files.get(name) != new:
                    files[name] = new
                    changed.append(f"`{name}`")
        notes.append(
            f"{n}. {item} — " + (f"changed {', '.join(changed)}." if changed else "applied; no text needed to change.")
        )
    return Revision(parts, files, notes)


def with_directions(parts: list[tuple[str, str]], task: TaskSpec, f: Facts) -> list[tuple[str, str]]:
    """Add the CEO-direction section when there are directions the template did not cover."""
    if f.directions and all(h != DIRECTIONS_HEADING for h, _ in parts):
        return [*parts, (DIRECTIONS_HEADING, "\n".join(w_directions(f, task)))]
    return parts


__all__ = [
    "MAX_OFFLINE_SCORE",
    "OFFLINE_LABEL",
    "Facts",
    "Money",
    "Rubric",
    "check",
    "facts_for",
    "header",
    "join_sections",
    "revise",
    "rule_for",
    "sections",
    "site_files",
    "write",
    "with_directions",
]
