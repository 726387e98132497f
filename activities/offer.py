"""Reading a goal and the CEO's answers: the kind of goal, the product, the price and the offer.

Pure functions, no I/O, shared by both providers: the offline provider plans from them, the
OpenAI provider reconciles the model's offer with what the CEO said (the CEO's stated price
wins over the model's).

Answers are keyed by question id. The offline interview asks with topic ids (`audience`,
`price`, `region`, `constraints`, …) so each answer is read for what it was asked; answers with
other ids (an LLM's `q1`…) are scanned as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.enums import SELLING_KINDS, GoalKind
from domain.work import Offer

# --- words ----------------------------------------------------------------------------------

_LEAD = set(
    "sell selling launch launching build building create creating start starting make making run running "
    "open opening offer offering grow design write writing publish i we want to would like".split()
)
_FILLER = {"a", "an", "the", "my", "our", "some", "new", "online", "small", "simple"}
_STOP = set("for to that which with in on at by from and so who where via using of aimed targeting about".split())


def words(text: str) -> list[str]:
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
    tokens = words(goal)
    i = 0
    while i < len(tokens) and tokens[i].lower() in _LEAD | _FILLER:
        i += 1
    picked: list[str] = []
    for word in tokens[i:]:
        low = word.lower()
        if low in _STOP:
            break
        if low in _FILLER:
            continue
        picked.append(word if word.isupper() else word[:1].upper() + word[1:])
        if len(picked) == 4:
            break
    return " ".join(picked) or "Launch Offer"


def topic(goal: str) -> str:
    """What a research or content goal is about: the words after "on"/"about", else the object."""
    found = re.search(r"\b(?:on|about|into|of)\s+(.{3,120}?)(?:[.!?]|$)", goal, re.IGNORECASE)
    if found:
        return found.group(1).strip().rstrip(",;")
    return product_name(goal).lower()


def audience_in_goal(goal: str) -> str:
    """ "… for busy parents" → "busy parents"; "services to freelancers" → "freelancers"."""
    found = re.search(r"\bfor\s+([^.,;!?]{3,80})", goal, re.IGNORECASE) or re.search(
        r"\bservices?\s+to\s+([^.,;!?]{3,80})", goal, re.IGNORECASE
    )
    return found.group(1).strip() if found else ""


_RETARGET = re.compile(
    r"\b(?:target|focus on|aim at|sell to|sell only to)\s+([a-z][^.,;!?]{2,60}?)"
    r"(?:\s+instead of\b|\s+rather than\b|[.,;!?]|$)",
    re.IGNORECASE,
)


def audience_in_instruction(text: str) -> str:
    """ "Target teachers instead of parents" → "teachers"; "" when the text names no audience."""
    found = _RETARGET.search(text)
    return found.group(1).strip() if found else ""


# --- the kind of goal --------------------------------------------------------------------------

_RESEARCH = set(
    "thesis dissertation phd master's masters bachelor's paper study literature research experiment "
    "academic journal hypothesis survey".split()
)
_CONTENT = set("blog podcast newsletter youtube channel vlog magazine zine documentary articles essays column".split())
_SERVICE = set(
    "consulting consultancy consultant agency freelance freelancing coaching coach tutoring tutor "
    "cleaning repair repairs bookkeeping photography catering services studio therapy training lessons "
    "classes dog-walking walking installation".split()
)
_SELLING = {"sell", "selling", "shop", "store", "price", "paid", "subscription", "subscriptions", "customers"}
_SOFTWARE = {"app", "saas", "api", "software", "platform", "tool", "plugin", "extension", "bot"}


def goal_kind(goal: str) -> GoalKind:
    """A research project, a content project, a service, or (the default) a business that sells.

    Research words win unless the goal sells something ("sell my research templates" is a
    business); content words make a content project unless it sells; service words make a
    service unless the goal is software ("a SaaS service" is a product).
    """
    tokens = {w.lower() for w in words(goal)}
    low = goal.lower()
    selling = bool(tokens & _SELLING)
    if (tokens & _RESEARCH or "research project" in low) and not selling:
        return GoalKind.research
    if tokens & _CONTENT and not selling:
        return GoalKind.content
    if tokens & _SERVICE and not tokens & _SOFTWARE:
        return GoalKind.service
    return GoalKind.business


def is_software(goal: str) -> bool:
    return bool({w.lower() for w in words(goal)} & _SOFTWARE)


# --- prices ------------------------------------------------------------------------------------

CURRENCY_CODES = set("usd eur gbp chf cad aud nzd jpy sek nok dkk pln czk huf inr brl mxn sgd hkd zar".split())
_SYMBOLS = {"$": "usd", "€": "eur", "£": "gbp", "¥": "jpy", "₹": "inr"}
_CURRENCY_WORDS = {
    "dollar": "usd",
    "dollars": "usd",
    "bucks": "usd",
    "euro": "eur",
    "euros": "eur",
    "pound": "gbp",
    "pounds": "gbp",
    "franc": "chf",
    "francs": "chf",
    "yen": "jpy",
    "rupees": "inr",
    "kronor": "sek",
    "kroner": "nok",
}
_NUMBER = r"(\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2})?|\d{1,7}(?:[.,]\d{1,2})?)"
_CODE = "|".join(sorted(CURRENCY_CODES))
_WORD = "|".join(sorted(_CURRENCY_WORDS, key=len, reverse=True))
_SYM = "".join(re.escape(s) for s in _SYMBOLS)
_PRICE_PATTERNS = [
    # "US$35", "$35", "€35", "£12.50"
    re.compile(rf"(?:US)?([{_SYM}])\s?{_NUMBER}", re.IGNORECASE),
    # "35 EUR", "35€", "35 euros", "35,50 €"
    re.compile(rf"{_NUMBER}\s?(?:([{_SYM}])|\b({_CODE}|{_WORD})\b)", re.IGNORECASE),
    # "EUR 35", "CHF 40"
    re.compile(rf"\b({_CODE})\s?{_NUMBER}", re.IGNORECASE),
]
_UNIT = re.compile(
    r"\bper\s+([a-z][a-z-]{1,20})\b"
    r"|\b(?:a|an|each)\s+(month|year|week|hour|day|session|lesson|class|visit)\b"
    r"|(?:^|\s)/\s?(month|year|week|hour|mo|yr|hr)\b|\b(monthly|yearly|annually|hourly|weekly)\b",
    re.IGNORECASE,
)
_UNIT_WORD = {"monthly": "per month", "yearly": "per year", "annually": "per year", "hourly": "per hour"}
_UNIT_WORD["weekly"] = "per week"
_UNIT_SHORT = {"mo": "month", "yr": "year", "hr": "hour"}


@dataclass(frozen=True)
class Price:
    amount: float
    currency: str | None  # None when the text named no currency
    unit: str = ""


def _amount(text: str) -> float | None:
    raw = text.replace(" ", "")
    # "1,200" / "1.200" are thousands; "35,50" / "35.50" are decimals.
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", raw):
        raw = re.sub(r"[.,]", "", raw)
    elif re.fullmatch(r"\d{1,3}([.,]\d{3})+[.,]\d{1,2}", raw):
        raw = re.sub(r"[.,](?=\d{3})", "", raw).replace(",", ".")
    else:
        raw = raw.replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        return None
    return round(value, 2) if value > 0 else None


def unit_in(text: str) -> str:
    """ "35 EUR per mug" → "per mug"; "90/hour" → "per hour"; "monthly" → "per month"."""
    found = _UNIT.search(text)
    if not found:
        return ""
    word = next(g for g in found.groups() if g).lower()
    if found.group(4):
        return _UNIT_WORD.get(word, "")
    return f"per {_UNIT_SHORT.get(word, word)}"


def parse_price(text: str) -> Price | None:
    """The first price named in a text, with its currency when one is named.

    "35 EUR per mug" → 35 EUR per mug; "$24 one-off" → 24 USD; "€35,50" → 35.5 EUR; a bare
    number is not a price here (see `parse_amount` for answers to a price question).
    """
    best: tuple[int, Price] | None = None
    for pattern in _PRICE_PATTERNS:
        for found in pattern.finditer(text):
            groups = [g for g in found.groups() if g]
            symbol = next((g for g in groups if g in _SYMBOLS), None)
            named = next((g.lower() for g in groups if g.lower() in CURRENCY_CODES | set(_CURRENCY_WORDS)), None)
            number = next((g for g in groups if re.match(r"\d", g)), None)
            if number is None:
                continue
            amount = _amount(number)
            if amount is None:
                continue
            currency = _SYMBOLS[symbol] if symbol else _CURRENCY_WORDS.get(named or "", named)
            price = Price(amount, currency, unit_in(text[found.end() : found.end() + 40]))
            if best is None or found.start() < best[0]:
                best = (found.start(), price)
            break
    return best[1] if best else None


def parse_amount(text: str) -> Price | None:
    """A price, or else the first plain number (the answer to "what will you charge?")."""
    price = parse_price(text)
    if price is not None:
        return price
    found = re.search(_NUMBER, text)
    amount = _amount(found.group(1)) if found else None
    if amount is None:
        return None
    assert found is not None
    return Price(amount, None, unit_in(text[found.end() : found.end() + 40]))


_REGION_CURRENCY = [
    (("uk", "united kingdom", "britain", "england", "scotland", "wales", "london"), "gbp"),
    (("switzerland", "swiss", "zurich", "geneva"), "chf"),
    (("canada", "toronto", "vancouver", "montreal"), "cad"),
    (("australia", "sydney", "melbourne"), "aud"),
    (("japan", "tokyo"), "jpy"),
    (("sweden", "stockholm"), "sek"),
    (("norway", "oslo"), "nok"),
    (("denmark", "copenhagen"), "dkk"),
    (("poland", "warsaw"), "pln"),
    (("india", "mumbai", "delhi", "bangalore"), "inr"),
    (
        (
            "eu",
            "europe",
            "european",
            "germany",
            "berlin",
            "munich",
            "france",
            "paris",
            "spain",
            "madrid",
            "italy",
            "rome",
            "netherlands",
            "amsterdam",
            "austria",
            "vienna",
            "belgium",
            "ireland",
            "dublin",
            "portugal",
            "lisbon",
            "finland",
            "greece",
        ),
        "eur",
    ),
    (("us", "usa", "united states", "america", "new york", "california", "texas"), "usd"),
]


def region_currency(region: str) -> str | None:
    """The currency a region pays in, when the region names one we know."""
    low = f" {region.lower()} "
    for names, currency in _REGION_CURRENCY:
        if any(re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", low) for n in names):
            return currency
    return None


def money(amount: float, currency: str) -> str:
    """35 and "eur" → "35 EUR"; 12.5 → "12.50 USD"."""
    text = f"{amount:.0f}" if float(amount).is_integer() else f"{amount:.2f}"
    return f"{text} {currency.upper()}"


# --- the offer ---------------------------------------------------------------------------------

_PRICE_LADDER = (19.0, 29.0, 49.0, 79.0)
_SERVICE_LADDER = (60.0, 90.0, 120.0)


def _answer(answers: dict[str, str], *keys: str) -> str:
    for key in keys:
        value = answers.get(key, "").strip()
        if value:
            return value
    return ""


def constraints_in(text: str) -> list[str]:
    """ "Budget 500 EUR; ship by June. No plastic" → three constraints (at most five)."""
    parts = [p.strip(" -•\t") for p in re.split(r"[;\n]|(?<=[.!?])\s+", text) if p.strip(" -•\t.")]
    return [p.rstrip(".") for p in parts][:5]


def stated_price(goal: str, answers: dict[str, str]) -> Price | None:
    """The price the CEO named: the answer to the price question first, then any answer with a
    currency, then the goal."""
    asked = _answer(answers, "price")
    if asked:
        found = parse_amount(asked)
        if found is not None:
            return found
    for key, text in answers.items():
        if key == "price":
            continue
        found = parse_price(text)
        if found is not None:
            return found
    return parse_price(goal)


def fallback_price(goal: str, kind: GoalKind) -> float:
    """A proposal when the CEO named no price: a stable pick from a ladder (labelled as such)."""
    from activities.planning import stable_hash

    ladder = _SERVICE_LADDER if kind == GoalKind.service else _PRICE_LADDER
    return ladder[stable_hash("price", goal) % len(ladder)]


def derive_offer(goal: str, answers: dict[str, str], kind: GoalKind | None = None) -> Offer | None:
    """The offer from the goal and the answers; None for goals that sell nothing (research,
    content). Price and currency from what the CEO said, else a labelled proposal; currency
    from the region when only an amount was given; audience, region and constraints from the
    answers to those questions (or the goal's "for …")."""
    kind = kind or goal_kind(goal)
    if kind not in SELLING_KINDS:
        return None
    region = _answer(answers, "region")
    audience = _answer(answers, "audience", "customer", "clients") or audience_in_goal(goal)
    price = stated_price(goal, answers)
    currency = (price.currency if price else None) or region_currency(region) or "usd"
    amount = price.amount if price else fallback_price(goal, kind)
    unit = price.unit if price and price.unit else ("per hour" if kind == GoalKind.service and not price else "")
    return Offer(
        product_name=product_name(goal),
        description=short(goal, 200),
        price_usd=amount,
        currency=currency,
        unit=unit,
        audience=short(audience, 160) if audience else "",
        region=short(region, 120) if region else "",
        constraints=constraints_in(_answer(answers, "constraints")),
    )


def reconcile_offer(offer: Offer, goal: str, answers: dict[str, str]) -> Offer:
    """A model's offer, corrected by what the CEO said: a price the CEO stated with a currency
    wins (amount, currency and unit); audience, region and constraints fill in where empty."""
    update: dict[str, object] = {}
    stated = stated_price(goal, answers)
    if stated is not None and stated.currency is not None:
        if (stated.amount, stated.currency) != (offer.price_usd, offer.currency.lower()):
            update |= {"price_usd": stated.amount, "currency": stated.currency}
        if stated.unit:
            update["unit"] = stated.unit
    derived = derive_offer(goal, answers, GoalKind.business)
    if derived is not None:
        for field in ("audience", "region", "constraints"):
            if not getattr(offer, field) and getattr(derived, field):
                update[field] = getattr(derived, field)
    update["currency"] = str(update.get("currency", offer.currency)).lower()
    return offer.model_copy(update=update)
