"""The agent catalog: enough roles across the business, every deliverable kind has a reviewer."""

from __future__ import annotations

import pytest

from activities.catalog import (
    CatalogError,
    UnknownRoleError,
    load_catalog,
    parse_catalog,
    reviewer_for,
    role,
)

CATEGORIES = {
    "strategy",
    "research",
    "finance",
    "legal",
    "product",
    "engineering",
    "design",
    "content",
    "marketing",
    "sales",
    "customer-success",
    "operations",
    "qa",
}


def test_catalog_covers_the_business() -> None:
    catalog = load_catalog()
    assert len(catalog.roles) >= 30
    assert {r.category for r in catalog.roles} == CATEGORIES
    assert all(r.instructions.strip() and r.title for r in catalog.roles)
    engineering = {r.name for r in catalog.roles if r.category == "engineering"}
    assert {"web-developer", "backend-engineer", "devops-engineer"} <= engineering
    assert load_catalog() is catalog  # parsed once


def test_every_kind_has_a_reviewer_from_qa() -> None:
    catalog = load_catalog()
    for kind in catalog.kinds:
        reviewer = catalog.reviewer_for(kind)
        assert kind in reviewer.reviews and reviewer.category == "qa"
        assert catalog.producers_of(kind), f"nobody produces {kind}"
    assert reviewer_for("code").name == "code-reviewer"
    assert reviewer_for("legal").name == "legal-reviewer"
    assert reviewer_for("something-new").name == "editor"  # generic fallback


def test_role_lookup() -> None:
    assert role("pricing-strategist").produces == ["pricing"]
    with pytest.raises(UnknownRoleError) as caught:
        role("wizard")
    assert "unknown role 'wizard'" in str(caught.value) and "copywriter" in str(caught.value)
    catalog = load_catalog()
    assert catalog.role_for_activity("plan").name == "chief-of-staff"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kinds: {a: A}\nroles:\n  - {name: x, title: X, category: c, instructions: i, reviews: [a]}\n"
         "  - {name: x, title: X, category: c, instructions: i}", "duplicate role names: x"),
        ("kinds: {a: A}\nroles:\n  - {name: Bad_Name, title: X, category: c, instructions: i, reviews: [a]}",
         "kebab-case"),
        ("kinds: {a: A}\nroles:\n  - {name: x, title: X, category: c, instructions: i, produces: [b], reviews: [a]}",
         "unknown deliverable kinds: b"),
        ("kinds: {a: A, b: B}\nroles:\n  - {name: x, title: X, category: c, instructions: i, reviews: [a]}",
         "without a QA reviewer: b"),
        ("kinds: {a: A}\nactivities: {plan: ghost}\nroles:\n"
         "  - {name: x, title: X, category: c, instructions: i, reviews: [a]}", "unknown role ghost"),
        ("roles: [", "invalid YAML"),
    ],
)  # fmt: skip
def test_inconsistent_catalogs_are_refused(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(text)
