"""Full-text search over an owner's deliverables and research, across all of their projects.

SQLite: the FTS5 table `document_fts` (external content: it indexes `document.title` and
`document.content`), kept in step by the triggers of migration 0002. PostgreSQL: a GIN index on
the weighted tsvector of the same two columns (an expression index, so every insert and update
keeps it current). Both backends run the same parsed query — words (all must match), `"quoted
phrases"`, `or` between two terms, `-word` to exclude — rendered for each engine from a parsed
form, so no user text ever reaches the engine's own query syntax.

Only the newest version of each deliverable is a hit. Synchronous: API routes run it in the
thread pool, activities through `asyncio.to_thread`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlmodel import col

from store.db import session_scope
from store.tables import Document, Project

SEARCH_KINDS = ("deliverable", "research")
MAX_QUERY_CHARS = 200
MAX_TERMS = 16
MAX_PHRASE_WORDS = 8
MAX_LIMIT = 50
MAX_OFFSET = 1000

# Objects migration 0002 creates outside the SQLModel metadata: alembic's autogenerate (and so
# `alembic check`) leaves them alone (store/migrations/env.py).
FTS_TABLE = "document_fts"
PG_SEARCH_INDEX = "ix_document_search"

# The indexed expression on PostgreSQL; queries repeat it verbatim so the planner uses the index.
PG_VECTOR = "(setweight(to_tsvector('english', {t}title), 'A') || setweight(to_tsvector('english', {t}content), 'B'))"

# Highlight markers the engines put around matches: control characters that never survive into
# the output, so a document's own text can never fake (or break) a highlight.
_START, _STOP = "\x02", "\x03"
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
_SPACE = re.compile(r"\s+")
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i if in into is it its me my no not of on or our "
    "she so than that the their them then there these they this to too us was we were what when which who will "
    "with you your".split()
)


class InvalidQuery(ValueError):
    """The search text is empty, too long, or has no word to search for."""


@dataclass(frozen=True)
class ParsedQuery:
    """AND of OR-groups of phrases (a phrase is a list of lower-case words), minus excluded phrases."""

    groups: list[list[list[str]]] = field(default_factory=list)
    exclude: list[list[str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.groups

    def fts5(self) -> str:
        """The query in SQLite FTS5 syntax: every word a quoted string, so nothing is an operator."""

        def phrase(words: list[str]) -> str:
            return '"' + " ".join(words) + '"'

        positive = " AND ".join("(" + " OR ".join(phrase(p) for p in group) + ")" for group in self.groups)
        if not self.exclude:
            return positive
        return f"({positive}) NOT (" + " OR ".join(phrase(p) for p in self.exclude) + ")"

    def tsquery(self) -> str:
        """The query in PostgreSQL `to_tsquery` syntax (each word single-quoted; words are [^\\W_]+)."""

        def phrase(words: list[str]) -> str:
            return "(" + " <-> ".join(f"'{w}'" for w in words) + ")"

        parts = ["(" + " | ".join(phrase(p) for p in group) + ")" for group in self.groups]
        parts += [f"!{phrase(p)}" for p in self.exclude]
        return " & ".join(parts)


def parse_query(q: str) -> ParsedQuery:
    """Parse a web-search style query: `word "a phrase" a or b -excluded`. Raises InvalidQuery."""
    q = q.strip()
    if not q:
        raise InvalidQuery("the search text is empty")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the search text is longer than {MAX_QUERY_CHARS} characters")
    groups: list[list[list[str]]] = []
    exclude: list[list[str]] = []
    pending_or = False
    count = 0
    for token in _TOKEN.findall(q):
        negative = token.startswith("-") and len(token) > 1
        body = token[1:] if negative else token
        if body.lower() == "or" and not negative:
            pending_or = bool(groups)
            continue
        words = [w.lower() for w in _WORD.findall(body)][:MAX_PHRASE_WORDS]
        if not words or count >= MAX_TERMS:
            continue
        count += 1
        if negative:
            exclude.append(words)
        elif pending_or:
            groups[-1].append(words)
        else:
            groups.append([words])
        pending_or = False
    if not groups:
        raise InvalidQuery("the search text has no word to search for")
    return ParsedQuery(groups=groups, exclude=exclude)


def any_of_words(text_: str, max_terms: int = 24) -> ParsedQuery:
    """An OR query over the distinct, non-trivial words of a longer text (a goal, a task brief)."""
    seen: list[str] = []
    for word in _WORD.findall(text_.lower()):
        if len(word) > 2 and word not in STOPWORDS and word not in seen:
            seen.append(word)
            if len(seen) >= max_terms:
                break
    return ParsedQuery(groups=[[[w] for w in seen]] if seen else [])


class SearchHit(BaseModel):
    """One matching document: where it is, the newest version, and a highlighted snippet."""

    document_id: int
    project_id: str
    project_name: str
    kind: str
    task_id: str
    title: str
    version: int
    created_at: datetime
    snippet: str
    snippet_html: str
    url: str
    project_url: str

    def citation(self) -> str:
        """How a prompt or a deliverable cites this document."""
        return f"{self.project_name} — {self.title} (v{self.version}, {self.url})"


class SearchPage(BaseModel):
    items: list[SearchHit]
    total: int


def render_snippet(raw: str) -> tuple[str, str]:
    """(plain text, HTML with matches in <mark>): everything escaped, tags always balanced."""
    plain: list[str] = []
    marked: list[str] = []
    inside = False
    for piece in re.split(f"([{_START}{_STOP}])", raw):
        if piece == _START:
            if not inside:
                marked.append("<mark>")
                inside = True
            continue
        if piece == _STOP:
            if inside:
                marked.append("</mark>")
                inside = False
            continue
        piece = _SPACE.sub(" ", piece)
        plain.append(piece)
        marked.append(html.escape(piece))
    if inside:
        marked.append("</mark>")
    return "".join(plain).strip(), "".join(marked).strip()


def deliverable_url(document_id: int) -> str:
    return f"/deliverables/{document_id}"


_NEWEST = (
    "d.version = (SELECT max(v.version) FROM document AS v"
    " WHERE v.project_id = d.project_id AND v.kind = d.kind AND v.task_id = d.task_id)"
)
_FILTERS = (
    "p.owner = :owner AND d.kind IN ('deliverable', 'research') AND "
    + _NEWEST
    + " AND (:exclude = '' OR d.project_id != :exclude)"
)

_SQLITE_HITS = f"""
SELECT d.id, snippet({FTS_TABLE}, 1, char(2), char(3), '…', 24) AS snip
FROM {FTS_TABLE} JOIN document AS d ON d.id = {FTS_TABLE}.rowid JOIN project AS p ON p.id = d.project_id
WHERE {FTS_TABLE} MATCH :q AND {_FILTERS}
ORDER BY bm25({FTS_TABLE}, 4.0, 1.0), d.id DESC
LIMIT :limit OFFSET :offset
"""
_SQLITE_COUNT = f"""
SELECT count(*) FROM {FTS_TABLE} JOIN document AS d ON d.id = {FTS_TABLE}.rowid JOIN project AS p ON p.id = d.project_id
WHERE {FTS_TABLE} MATCH :q AND {_FILTERS}
"""
_PG_MATCHES = f"""
FROM document AS d JOIN project AS p ON p.id = d.project_id, to_tsquery('english', :q) AS query
WHERE {PG_VECTOR.format(t="d.")} @@ query AND {_FILTERS}
"""
# The headline is computed for the page's rows only (it reads the whole content).
_PG_HITS = f"""
SELECT hit.id, ts_headline('english', hit.content, hit.query, :opts) AS snip FROM (
  SELECT d.id, d.content, query, ts_rank({PG_VECTOR.format(t="d.")}, query) AS rank {_PG_MATCHES}
  ORDER BY rank DESC, d.id DESC LIMIT :limit OFFSET :offset
) AS hit ORDER BY hit.rank DESC, hit.id DESC
"""
_PG_COUNT = f"SELECT count(*) {_PG_MATCHES}"
_PG_HEADLINE = (
    f'StartSel="{_START}", StopSel="{_STOP}", MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
)


def _run(
    db_url: str, owner: str, query: ParsedQuery, *, limit: int, offset: int, exclude_project_id: str, count: bool
) -> SearchPage:
    if query.empty:
        return SearchPage(items=[], total=0)
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, min(offset, MAX_OFFSET))
    with session_scope(db_url) as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        params: dict[str, object] = {
            "q": query.tsquery() if postgres else query.fts5(),
            "owner": owner,
            "exclude": exclude_project_id,
            "limit": limit,
            "offset": offset,
        }
        if postgres:
            params["opts"] = _PG_HEADLINE
        rows = session.execute(text(_PG_HITS if postgres else _SQLITE_HITS), params).all()
        total = len(rows) + offset
        if count and (len(rows) == limit or offset):
            total = int(session.execute(text(_PG_COUNT if postgres else _SQLITE_COUNT), params).scalar_one())
        ids = [int(r[0]) for r in rows]
        # The listed columns only: a document's content can be large.
        meta = {
            m[0]: m
            for m in session.execute(
                sa_select(
                    col(Document.id),
                    col(Document.project_id),
                    col(Project.name),
                    col(Document.kind),
                    col(Document.task_id),
                    col(Document.title),
                    col(Document.version),
                    col(Document.created_at),
                )
                .join(Project, col(Project.id) == col(Document.project_id))
                .where(col(Document.id).in_(ids))
            ).all()
        }
    items = []
    for doc_id, raw in rows:
        m = meta.get(int(doc_id))
        if m is None:  # deleted between the two reads
            continue
        plain, marked = render_snippet(raw or "")
        items.append(
            SearchHit(
                document_id=int(doc_id),
                project_id=m[1],
                project_name=m[2],
                kind=m[3],
                task_id=m[4],
                title=m[5],
                version=m[6],
                created_at=m[7],
                snippet=plain,
                snippet_html=marked,
                url=deliverable_url(int(doc_id)),
                project_url=f"/projects/{m[1]}/view",
            )
        )
    return SearchPage(items=items, total=total)


def search_documents(db_url: str, owner: str, q: str, *, limit: int = 20, offset: int = 0) -> SearchPage:
    """The owner's deliverables and research matching `q`, best first (raises InvalidQuery). Read-only."""
    return _run(db_url, owner, parse_query(q), limit=limit, offset=offset, exclude_project_id="", count=True)


def related_documents(
    db_url: str, owner: str, text: str, limit: int = 5, *, exclude_project_id: str | None = None
) -> list[SearchHit]:
    """The owner's earlier deliverables and research that share the most words with `text` (a goal,
    a task brief), best first; `exclude_project_id` leaves out the asking project. Read-only; an
    empty list when the text has no word worth searching for."""
    query = any_of_words(text[:4000])
    page = _run(db_url, owner, query, limit=limit, offset=0, exclude_project_id=exclude_project_id or "", count=False)
    return page.items
