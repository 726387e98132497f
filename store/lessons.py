"""Lessons learned from the CEO's feedback, per owner: condense, store, list, edit, retrieve.

A revise or reject comment, or a note on an edit, becomes one short imperative sentence
("Never promise next-day delivery."). With a model the agents condense it; without one,
`condense_lesson` is the offline provider's deterministic rule. `record_lesson` condenses and
stores, once per source (a retried activity records nothing twice); `save_lesson` stores text
that is already condensed. `relevant_lessons` is what a later prompt includes.

Synchronous: API routes run these in the thread pool, activities through `asyncio.to_thread`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from store.db import session_scope
from store.search import STOPWORDS
from store.tables import Lesson, LessonPublic, utcnow

LESSON_MAX_CHARS = 200
MAX_LESSONS_PER_OWNER = 500
SUBJECT_MAX_CHARS = 80

SourceKind = Literal["revise", "reject", "edit"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class LessonSource(BaseModel):
    """Where a lesson came from: the kind of feedback and its id (a gate id for a decision's
    comment, a document id for an edit). One lesson per (owner, kind, id)."""

    kind: SourceKind
    id: str = Field(min_length=1, max_length=200)
    project_id: str | None = Field(default=None, max_length=64)


class LessonContext(BaseModel):
    """What the comment was about. `subject` (a task or gate title) makes a lesson that says "it"
    or "this" self-contained: "Landing page: make it shorter."."""

    kind: SourceKind = "revise"
    subject: str = Field(default="", max_length=300)


class TooManyLessons(Exception):
    """The owner has MAX_LESSONS_PER_OWNER lessons already."""


# --- the deterministic condensation rule ----------------------------------------------------

# Whole comments (after cleaning) that carry no lesson.
_ACKNOWLEDGEMENTS = frozenset(
    {
        "ok", "okay", "k", "fine", "good", "great", "nice", "perfect", "sure", "done", "yes", "no", "nope",
        "approved", "approve", "accepted", "lgtm", "looks good", "look good", "looks great", "looks fine",
        "all good", "good job", "well done", "ship it", "go", "go ahead", "thanks", "thank you", "thx",
        "n/a", "na", "none", "nothing", "no comment", "not now", "+1", "ok thanks", "looks good to me",
    }
)  # fmt: skip
# Courtesy and framing in front of the instruction: dropped so the lesson starts with its verb.
_LEADING = re.compile(
    r"^(?:"
    r"(?:please|pls|plz|kindly|ok(?:ay)?|so|and|also|but|hey|hi|note|nb|fyi|btw)\b[\s,:;.!-]*"
    r"|(?:can|could|would|will) (?:you|we)\s+(?:please\s+)?"
    r"|(?:you|we) (?:should|must|need to|have to|ought to)\s+"
    r"|i(?:'d| would)? (?:want|need|like|prefer) (?:you|us) to\s+"
    r"|(?:make sure|remember|don't forget|do not forget) to\s+"
    r")",
    re.IGNORECASE,
)
_QUESTION_PREFIX = re.compile(r"^(?:can|could|would|will) (?:you|we)\b", re.IGNORECASE)
_TRAILING = re.compile(r"[\s,;:-]*\b(?:please|pls|plz|thanks|thank you|thx|ty)\b[\s.!]*$", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-*•>]+|\d+[.)])\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_REFERS_BACK = re.compile(r"\b(?:it|this|these|those)\b", re.IGNORECASE)
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")


def _clean(sentence: str) -> tuple[str, bool]:
    """Strip bullets, quotes, courtesy and framing; True when a question prefix was removed."""
    s = " ".join(sentence.split())
    s = _BULLET.sub("", s).strip(" \"'`*_")
    question = bool(_QUESTION_PREFIX.match(s))
    for _ in range(4):  # "ok, so please ..." has several layers
        stripped = _LEADING.sub("", s, count=1).strip()
        stripped = _TRAILING.sub("", stripped).strip()
        if stripped == s:
            break
        s = stripped
    return s.strip(" ,;:-\"'`*_"), question


def _is_acknowledgement(s: str) -> bool:
    key = re.sub(r"[^\w\s/+']", "", s.lower()).strip()
    return key in _ACKNOWLEDGEMENTS or len(_LETTER_WORD.findall(s)) < 2


def _bounded(s: str, limit: int) -> str:
    if len(s) <= limit:
        return s
    cut = s[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut + "…"


def condense_lesson(comment: str | None, context: LessonContext | None = None) -> str | None:
    """One short imperative sentence from a CEO comment, or None when it teaches nothing.

    The offline provider's rule (deterministic): the first sentence that is not a mere
    acknowledgement ("ok", "looks good"), without courtesy or framing ("please", "could you",
    "you should"), capitalised, ending in a full stop, at most LESSON_MAX_CHARS characters;
    prefixed with the context's subject when it only says "it" or "this".
    "never promise next-day delivery please" → "Never promise next-day delivery."
    """
    if not comment or not comment.strip():
        return None
    for raw in _SENTENCE_END.split(comment.strip()[:4000]):
        sentence, question = _clean(raw)
        if not sentence or _is_acknowledgement(sentence):
            continue
        if question:  # "could you shorten it?" is a request: "Shorten it."
            sentence = sentence.rstrip("?").rstrip()
        if sentence[-1] not in ".!?…":
            sentence = sentence.rstrip(";,:") + "."
        sentence = sentence[0].upper() + sentence[1:]
        subject = " ".join((context.subject if context else "").split())[:SUBJECT_MAX_CHARS].rstrip(" .:")
        if subject and _REFERS_BACK.search(sentence):
            sentence = f"{subject}: {sentence[0].lower()}{sentence[1:]}"
        return _bounded(sentence, LESSON_MAX_CHARS)
    return None


# --- storage ----------------------------------------------------------------------------------


def _public(row: Lesson) -> LessonPublic:
    return LessonPublic.model_validate(row, from_attributes=True)


def _by_source(session: Session, owner: str, source: LessonSource) -> Lesson | None:
    return session.exec(
        select(Lesson).where(Lesson.owner == owner, Lesson.source_kind == source.kind, Lesson.source_id == source.id)
    ).first()


def clean_text(text: str) -> str:
    """One line, trimmed, without control characters."""
    return " ".join(_CONTROL.sub(" ", text).split())


def normalize_text(text: str) -> str:
    """`clean_text`; ValueError when that is empty or longer than LESSON_MAX_CHARS."""
    text = clean_text(text)
    if not text:
        raise ValueError("a lesson needs some text")
    if len(text) > LESSON_MAX_CHARS:
        raise ValueError(f"a lesson is at most {LESSON_MAX_CHARS} characters")
    return text


def save_lesson(db_url: str, owner: str, text: str, source: LessonSource | None = None) -> tuple[LessonPublic, bool]:
    """Store a lesson as given (already condensed); (lesson, created). Idempotent per source: the
    same source returns the lesson it recorded before. Raises ValueError for empty or too long
    text, TooManyLessons at the owner's cap."""
    text = normalize_text(text)
    owner = owner[:200]
    with session_scope(db_url) as session:
        if source is not None:
            existing = _by_source(session, owner, source)
            if existing is not None:
                return _public(existing), False
        count = session.exec(select(func.count()).select_from(Lesson).where(Lesson.owner == owner)).one()
        if count >= MAX_LESSONS_PER_OWNER:
            raise TooManyLessons(f"{owner} has {count} lessons already (at most {MAX_LESSONS_PER_OWNER})")
        now = utcnow()
        row = Lesson(
            owner=owner,
            text=text,
            source_kind=source.kind if source else "manual",
            source_id=source.id if source else None,
            project_id=source.project_id if source else None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # The same source was recorded concurrently (a retried activity): that lesson stands.
            session.rollback()
            existing = _by_source(session, owner, source) if source else None
            if existing is None:
                raise
            return _public(existing), False
        session.refresh(row)
        return _public(row), True


def record_lesson(
    db_url: str, owner: str, comment: str | None, source: LessonSource, *, subject: str = ""
) -> LessonPublic | None:
    """Condense a CEO comment with the deterministic rule and store it, once per source. None when
    the comment teaches nothing ("ok") or the owner's lessons are at their cap."""
    text = condense_lesson(comment, LessonContext(kind=source.kind, subject=subject[:300]))
    if text is None:
        return None
    try:
        lesson, _ = save_lesson(db_url, owner, text, source)
    except TooManyLessons:
        return None
    return lesson


def list_lessons(db_url: str, owner: str, *, limit: int = 100, offset: int = 0) -> tuple[list[LessonPublic], int]:
    """The owner's lessons, newest first, and how many there are. Read-only."""
    with session_scope(db_url) as session:
        total = session.exec(select(func.count()).select_from(Lesson).where(Lesson.owner == owner)).one()
        rows = session.exec(
            select(Lesson)
            .where(Lesson.owner == owner)
            .order_by(col(Lesson.created_at).desc(), col(Lesson.id).desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return [_public(r) for r in rows], int(total)


def update_lesson(db_url: str, owner: str, lesson_id: int, text: str) -> LessonPublic | None:
    """New text for one of the owner's lessons; None when it is not theirs (or does not exist).
    Raises ValueError for empty or too long text. Idempotent."""
    text = normalize_text(text)
    with session_scope(db_url) as session:
        row = session.get(Lesson, lesson_id)
        if row is None or row.owner != owner:
            return None
        if row.text != text:
            row.text = text
            row.updated_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
        return _public(row)


def delete_lesson(db_url: str, owner: str, lesson_id: int) -> bool:
    """Delete one of the owner's lessons; False when it is not theirs (or does not exist)."""
    with session_scope(db_url) as session:
        row = session.get(Lesson, lesson_id)
        if row is None or row.owner != owner:
            return False
        session.delete(row)
        session.commit()
        return True


_WORD = re.compile(r"[^\W_]{3,}")
_SUFFIXES = ("ing", "ed", "es", "s")


def _stems(text: str) -> set[str]:
    out = set()
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS:
            continue
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        out.add(word)
    return out


def relevant_lessons(db_url: str, owner: str, text: str, limit: int = 8) -> list[str]:
    """The owner's lessons for a prompt about `text`, most relevant first, at most `limit`.

    Every lesson is a standing instruction of the CEO, so all of them qualify; the ones sharing
    the most words with the text come first, then the newest. Deterministic; read-only."""
    if limit <= 0:
        return []
    lessons, _ = list_lessons(db_url, owner, limit=MAX_LESSONS_PER_OWNER)
    words = _stems(text[:8000])
    ranked = sorted(
        enumerate(lessons), key=lambda item: (-len(words & _stems(item[1].text)), item[0])
    )  # enumerate order is newest first
    return [lesson.text for _, lesson in ranked[:limit]]
