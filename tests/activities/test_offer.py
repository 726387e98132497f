"""Reading the goal and the CEO's answers: kind of goal, price with currency and unit, the offer."""

from __future__ import annotations

import pytest

from activities.offer import derive_offer, goal_kind, parse_amount, parse_price, reconcile_offer
from domain.enums import GoalKind
from domain.work import Offer


@pytest.mark.parametrize(
    ("text", "amount", "currency", "unit"),
    [
        ("35 EUR per mug", 35.0, "eur", "per mug"),
        ("About $24 one-off", 24.0, "usd", ""),
        ("€35,50 each", 35.5, "eur", ""),
        ("We charge 1,200 GBP per project", 1200.0, "gbp", "per project"),
        ("CHF 40 per hour", 40.0, "chf", "per hour"),
        ("12 euros a month", 12.0, "eur", "per month"),
        ("$10 monthly", 10.0, "usd", "per month"),
        ("sell it for 49 dollars", 49.0, "usd", ""),
    ],
)
def test_prices_are_read_with_currency_and_unit(text: str, amount: float, currency: str, unit: str) -> None:
    price = parse_price(text)
    assert price is not None
    assert (price.amount, price.currency, price.unit) == (amount, currency, unit)


def test_a_bare_number_is_a_price_only_where_a_price_was_asked() -> None:
    assert parse_price("We have 3 shops and 12 staff") is None
    amount = parse_amount("90/hour")
    assert amount is not None and (amount.amount, amount.currency, amount.unit) == (90.0, None, "per hour")


@pytest.mark.parametrize(
    ("goal", "kind"),
    [
        ("Sell handmade ceramic mugs online", GoalKind.business),
        ("Launch a dog-walking app", GoalKind.business),
        ("Write a master's thesis on urban heat islands", GoalKind.research),
        ("A research project on sleep and screen time in teenagers", GoalKind.research),
        ("Start a weekly newsletter about Rust", GoalKind.content),
        ("Start a podcast about gardening and sell paid subscriptions", GoalKind.business),
        ("Offer bookkeeping services to freelancers in Berlin", GoalKind.service),
        ("Launch a SaaS tool for bookkeeping services", GoalKind.business),
    ],
)
def test_the_kind_of_goal(goal: str, kind: GoalKind) -> None:
    assert goal_kind(goal) == kind


def test_the_offer_comes_from_the_answers() -> None:
    offer = derive_offer(
        "Sell handmade ceramic mugs online",
        {
            "audience": "Café owners in Vienna",
            "price": "35 EUR per mug",
            "region": "Austria",
            "constraints": "Budget 500 EUR; launch by June. No plastic.",
        },
    )
    assert offer is not None
    assert offer.price_label == "35 EUR per mug"
    assert (offer.audience, offer.region) == ("Café owners in Vienna", "Austria")
    assert offer.constraints == ["Budget 500 EUR", "launch by June", "No plastic"]
    # An amount without a currency takes the region's.
    uk = derive_offer("Sell handmade ceramic mugs online", {"price": "28", "region": "London, UK"})
    assert uk is not None and uk.amount_label == "28 GBP"
    # Nothing sold, no offer.
    assert derive_offer("Write a master's thesis on urban heat islands", {"price": "35 EUR"}) is None


def test_the_ceos_stated_price_wins_over_a_models_offer() -> None:
    model = Offer(product_name="Mugs", price_usd=49.0, currency="usd")
    fixed = reconcile_offer(model, "Sell mugs", {"q2": "35 EUR per mug", "audience": "cafés"})
    assert (fixed.price_usd, fixed.currency, fixed.unit, fixed.audience) == (35.0, "eur", "per mug", "cafés")
    # No stated currency: the model's price stands.
    kept = reconcile_offer(model, "Sell mugs", {"q2": "not sure yet"})
    assert (kept.price_usd, kept.currency) == (49.0, "usd")
