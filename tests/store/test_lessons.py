"""Lessons: the deterministic condensation rule, storage once per source, and retrieval."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import store.lessons as lessons_mod
from store.lessons import (
    LESSON_MAX_CHARS,
    LessonContext,
    LessonSource,
    TooManyLessons,
    condense_lesson,
    delete_lesson,
    list_lessons,
    record_lesson,
    relevant_lessons,
    save_lesson,
    update_lesson,
)


@pytest.mark.parametrize(
    ("comment", "lesson"),
    [
        ("never promise next-day delivery please", "Never promise next-day delivery."),
        ("  Never promise next-day delivery.  ", "Never promise next-day delivery."),
        ("you should always quote prices in EUR, thanks", "Always quote prices in EUR."),
        ("Could you please drop the testimonials section?", "Drop the testimonials section."),
        ("ok, so please make sure to cite every source", "Cite every source."),
        ("Looks good. But keep the tone plain and friendly! Also add a FAQ.", "Keep the tone plain and friendly!"),
        ("- mention the 14-day refund window\n- and the FAQ", "Mention the 14-day refund window."),
        ("I want you to use British spelling", "Use British spelling."),
        ("Why is the price $29?", "Why is the price $29?"),
    ],
)
def test_condensed_to_one_imperative_sentence(comment: str, lesson: str) -> None:
    assert condense_lesson(comment) == lesson


@pytest.mark.parametrize(
    "comment", [None, "", "   ", "ok", "OK!", "Looks good", "looks good to me.", "LGTM 👍", "thanks", "no", "Shorter"]
)
def test_comments_that_teach_nothing_are_dropped(comment: str | None) -> None:
    assert condense_lesson(comment) is None


def test_a_lesson_that_says_it_names_its_subject() -> None:
    context = LessonContext(kind="revise", subject="Landing page copy")
    assert condense_lesson("Could you make it shorter?", context) == "Landing page copy: make it shorter."
    assert condense_lesson("Never promise next-day delivery", context) == "Never promise next-day delivery."


def test_condensed_lessons_are_bounded() -> None:
    lesson = condense_lesson("always " + "mention the refund window and the delivery times " * 20)
    assert lesson is not None and len(lesson) <= LESSON_MAX_CHARS and lesson.endswith("…")
    assert lesson.startswith("Always mention the refund window")


def test_record_lesson_once_per_source(any_db_url: str) -> None:
    source = LessonSource(kind="revise", id="p-1-g3", project_id="p-1")
    first = record_lesson(any_db_url, "ceo", "never promise next-day delivery please", source)
    again = record_lesson(any_db_url, "ceo", "never promise next-day delivery please", source)
    assert first is not None and again is not None and again.id == first.id
    assert (first.text, first.source_kind, first.source_id, first.project_id) == (
        "Never promise next-day delivery.",
        "revise",
        "p-1-g3",
        "p-1",
    )
    # The same gate for another owner, and another gate, are other sources.
    assert record_lesson(any_db_url, "alice", "Quote prices in EUR", source) is not None
    assert record_lesson(any_db_url, "ceo", "Looks good", LessonSource(kind="reject", id="p-1-g4")) is None
    items, total = list_lessons(any_db_url, "ceo")
    assert total == 1 and [i.text for i in items] == ["Never promise next-day delivery."]


def test_concurrent_records_of_one_source_make_one_lesson(any_db_url: str) -> None:
    source = LessonSource(kind="reject", id="p-2-g1")

    def record(_: int) -> int | None:
        lesson = record_lesson(any_db_url, "ceo", "Never use stock photos", source)
        return lesson.id if lesson else None

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(record, range(8)))
    assert len(ids) == 1 and None not in ids
    assert list_lessons(any_db_url, "ceo")[1] == 1


def test_edit_and_delete_only_the_owners_lesson(any_db_url: str) -> None:
    mine, created = save_lesson(any_db_url, "ceo", "Keep pages short.")
    assert created and mine.source_kind == "manual" and mine.source_id is None
    assert update_lesson(any_db_url, "alice", mine.id, "Hijacked.") is None
    assert not delete_lesson(any_db_url, "alice", mine.id)
    edited = update_lesson(any_db_url, "ceo", mine.id, "  Keep pages   very short. ")
    assert edited is not None and edited.text == "Keep pages very short." and edited.updated_at >= mine.updated_at
    assert delete_lesson(any_db_url, "ceo", mine.id)
    assert not delete_lesson(any_db_url, "ceo", mine.id)
    assert update_lesson(any_db_url, "ceo", mine.id, "Gone.") is None
    with pytest.raises(ValueError, match="at most"):
        save_lesson(any_db_url, "ceo", "x" * (LESSON_MAX_CHARS + 1))
    with pytest.raises(ValueError, match="needs some text"):
        save_lesson(any_db_url, "ceo", "   ")


def test_the_number_of_lessons_is_capped(any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lessons_mod, "MAX_LESSONS_PER_OWNER", 2)
    save_lesson(any_db_url, "ceo", "One.")
    save_lesson(any_db_url, "ceo", "Two.")
    with pytest.raises(TooManyLessons):
        save_lesson(any_db_url, "ceo", "Three.")
    assert record_lesson(any_db_url, "ceo", "Never do four things", LessonSource(kind="revise", id="g9")) is None
    assert save_lesson(any_db_url, "alice", "Alice has room.")[1]


def test_relevant_lessons_rank_shared_words_first_then_newest(any_db_url: str) -> None:
    for text in [
        "Never promise next-day delivery.",
        "Quote prices in EUR.",
        "Keep the tone plain.",
        "Mention the delivery times on the pricing page.",
    ]:
        save_lesson(any_db_url, "ceo", text)
    save_lesson(any_db_url, "alice", "Alice's delivery lesson.")
    brief = "Write the shipping and delivery FAQ with prices"
    assert relevant_lessons(any_db_url, "ceo", brief, limit=3) == [
        "Mention the delivery times on the pricing page.",  # delivery, prices/pricing
        "Quote prices in EUR.",  # prices (newer than the next-day one)
        "Never promise next-day delivery.",
    ]
    # Every lesson is a standing instruction: unrelated text still gets them, newest first.
    assert relevant_lessons(any_db_url, "ceo", "unrelated", limit=2) == [
        "Mention the delivery times on the pricing page.",
        "Keep the tone plain.",
    ]
    assert relevant_lessons(any_db_url, "nobody", brief, limit=3) == []
    assert relevant_lessons(any_db_url, "ceo", brief, limit=0) == []
