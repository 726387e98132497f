"""Full-text search across an owner's projects, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from store.db import session_scope
from store.search import (
    MAX_QUERY_CHARS,
    InvalidQuery,
    any_of_words,
    parse_query,
    related_documents,
    render_snippet,
    search_documents,
)
from store.tables import Document
from tests.store.helpers import seed_corpus


@pytest.fixture
def corpus(any_db_url: str) -> dict[str, int]:
    return seed_corpus(any_db_url)


def test_matches_across_the_owners_projects_only(any_db_url: str, corpus: dict[str, int]) -> None:
    page = search_documents(any_db_url, "ceo", "refund")
    found = {hit.document_id for hit in page.items}
    # Both CEO projects, deliverables and research (stemmed: refunds, refund); no plan, not Alice's.
    assert found == {corpus["mugs_refund"], corpus["tea_refund"], corpus["tea_research"]}
    assert page.total == 3
    assert {hit.project_name for hit in page.items} == {"Handmade mugs", "Tea subscription"}
    hit = next(h for h in page.items if h.document_id == corpus["mugs_refund"])
    assert hit.project_id == "p-mugs" and hit.title == "Refund policy" and hit.version == 1
    assert hit.url == f"/deliverables/{corpus['mugs_refund']}" and hit.project_url == "/projects/p-mugs/view"
    assert hit.created_at.tzinfo is not None

    alice = search_documents(any_db_url, "alice", "refund")
    assert [h.document_id for h in alice.items] == [corpus["alice_refund"]]
    assert search_documents(any_db_url, "nobody", "refund").items == []


def test_snippet_highlights_matches_and_escapes_the_document(any_db_url: str, corpus: dict[str, int]) -> None:
    hit = search_documents(any_db_url, "ceo", '"next-day delivery"').items[0]
    assert hit.document_id == corpus["mugs_refund"]
    # SQLite marks the phrase, PostgreSQL each word of it.
    assert re.search(r"<mark>(next-day |next-<mark>day</mark> <mark>)?delivery</mark>", hit.snippet_html)
    # The document's own markup is never HTML in the snippet (escaped by SQLite's path, dropped
    # by PostgreSQL's headline parser).
    assert "<b>" not in hit.snippet_html and "14-" in hit.snippet
    assert "&lt;b&gt;14-day&lt;/b&gt;" in hit.snippet_html or "<" not in hit.snippet
    assert "\x02" not in hit.snippet and "<mark>" not in hit.snippet and "next-day delivery" in hit.snippet


def test_only_the_newest_version_of_a_deliverable(any_db_url: str, corpus: dict[str, int]) -> None:
    assert search_documents(any_db_url, "ceo", "porcelain").items == []
    [hit] = search_documents(any_db_url, "ceo", "stoneware").items
    assert hit.document_id == corpus["mugs_new"] and hit.version == 2


def test_the_index_follows_updates_and_deletes(any_db_url: str, corpus: dict[str, int]) -> None:
    with session_scope(any_db_url) as s:
        doc = s.get(Document, corpus["tea_refund"])
        assert doc is not None
        doc.content = "Exchanges only, for matcha whisks."
        s.add(doc)
        s.commit()
    assert [h.document_id for h in search_documents(any_db_url, "ceo", "matcha").items] == [corpus["tea_refund"]]
    assert corpus["tea_refund"] not in {h.document_id for h in search_documents(any_db_url, "ceo", "refund").items}
    with session_scope(any_db_url) as s:
        doc = s.exec(select(Document).where(Document.id == corpus["tea_refund"])).one()
        s.delete(doc)
        s.commit()
    assert search_documents(any_db_url, "ceo", "matcha").items == []


def test_query_operators(any_db_url: str, corpus: dict[str, int]) -> None:
    def ids(q: str) -> set[int]:
        return {h.document_id for h in search_documents(any_db_url, "ceo", q).items}

    assert ids("refund delivery") == {corpus["mugs_refund"], corpus["tea_refund"]}  # both words
    assert ids("refund -delivery") == {corpus["tea_research"]}
    assert ids("stoneware or samplers") == {corpus["mugs_new"], corpus["tea_research"]}
    assert ids('"three to five days"') == {corpus["tea_refund"]}
    assert ids('"five to three days"') == set()


@pytest.mark.parametrize(
    "q", ['refund"', "refund AND (", "NEAR(refund delivery)", "refund*", "title:refund", "^refund", "'; DROP TABLE x"]
)
def test_engine_syntax_in_the_text_is_just_words(any_db_url: str, corpus: dict[str, int], q: str) -> None:
    page = search_documents(any_db_url, "ceo", q)  # never an engine syntax error
    assert all(h.project_id in ("p-mugs", "p-tea") for h in page.items)


def test_paging(any_db_url: str, corpus: dict[str, int]) -> None:
    first = search_documents(any_db_url, "ceo", "refund", limit=2)
    second = search_documents(any_db_url, "ceo", "refund", limit=2, offset=2)
    assert len(first.items) == 2 and len(second.items) == 1
    assert first.total == second.total == 3
    assert {h.document_id for h in first.items}.isdisjoint({h.document_id for h in second.items})


@pytest.mark.parametrize("q", ["", "   ", "x" * (MAX_QUERY_CHARS + 1), "!!! ---", "-refund", "or"])
def test_queries_without_words_are_refused(q: str) -> None:
    with pytest.raises(InvalidQuery):
        parse_query(q)


def test_related_documents_from_earlier_projects(any_db_url: str, corpus: dict[str, int]) -> None:
    hits = related_documents(
        any_db_url, "ceo", "A shop for tea samplers with a generous refund policy", limit=5, exclude_project_id="p-mugs"
    )
    assert [h.project_id for h in hits] and {h.project_id for h in hits} == {"p-tea"}
    assert hits[0].document_id == corpus["tea_research"]  # shares the most words
    assert "Tea subscription — Market research (v1, /deliverables/" in hits[0].citation()
    assert related_documents(any_db_url, "ceo", "the and of", limit=5) == []
    assert related_documents(any_db_url, "alice", "tea samplers refund", limit=5)[0].project_id == "p-alice"


def test_query_rendering() -> None:
    parsed = parse_query('Mugs "next-day delivery" a or b -spam')
    assert parsed.fts5() == '(("mugs") AND ("next day delivery") AND ("a" OR "b")) NOT ("spam")'
    assert parsed.tsquery() == "(('mugs')) & (('next' <-> 'day' <-> 'delivery')) & (('a') | ('b')) & !('spam')"
    assert any_of_words("The tea, the TEA and samplers").groups == [[["tea"], ["samplers"]]]


def test_render_snippet_balances_and_escapes() -> None:
    plain, marked = render_snippet("a <i>\x02b\x03</i> \x02c\n d")
    assert plain == "a <i>b</i> c d"
    assert marked == "a &lt;i&gt;<mark>b</mark>&lt;/i&gt; <mark>c d</mark>"


def test_postgres_search_uses_the_gin_index(any_db_url: str, corpus: dict[str, int]) -> None:
    if not any_db_url.startswith("postgresql"):
        pytest.skip("the FTS5 table is the index on SQLite")
    from sqlalchemy import text

    from store.db import get_engine
    from store.search import _PG_COUNT, PG_SEARCH_INDEX

    with get_engine(any_db_url).connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # tiny tables: make the planner show its choice
        plan = conn.execute(
            text("EXPLAIN " + _PG_COUNT), {"q": parse_query("refund").tsquery(), "owner": "ceo", "exclude": ""}
        ).all()
    assert any(PG_SEARCH_INDEX in row[0] for row in plan), "\n".join(row[0] for row in plan)


def test_documents_written_before_the_migration_are_found(any_db_url: str) -> None:
    from alembic import command

    from store.db import alembic_config, migrate
    from tests.store.helpers import add_doc, add_project

    command.downgrade(alembic_config(any_db_url), "0001")
    add_project(any_db_url, "p-old", "ceo", "Old shop")
    doc_id = add_doc(any_db_url, "p-old", "Shipping notes", "Parcels leave on Tuesdays.")
    migrate(any_db_url)
    assert [h.document_id for h in search_documents(any_db_url, "ceo", "parcels tuesday").items] == [doc_id]
