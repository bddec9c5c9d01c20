from __future__ import annotations

from seedtree.generate import parse


def test_numbered_and_bulleted_lists_with_continuations() -> None:
    text = (
        "Here are some tasks:\n"
        "1. Write a haiku about rain.\n"
        "2) Write a haiku about\n   the sea at night.\n"
        "- Too short\n"
        "* Task: Compose a haiku about snow\n"
    )
    assert parse.questions(text) == [
        "Write a haiku about rain.",
        "Write a haiku about the sea at night.",
        "Compose a haiku about snow",
    ]


def test_question_tags_win_over_list_markers_and_repeats_are_dropped() -> None:
    text = (
        "<question>What is the tide?</question>\n"
        "1. ignored list item here\n"
        "<question>what is the tide?"
    )
    assert parse.questions(text) == ["What is the tide?"]


def test_one_plain_line_is_one_question_but_prose_is_nothing() -> None:
    assert parse.questions("How many grams are in a pound?") == ["How many grams are in a pound?"]
    assert parse.questions("I cannot help.\n\nSorry about that, really.") == []
    assert parse.questions("") == []


def test_qa_pairs_in_several_spellings() -> None:
    text = (
        "Question: Who built the first running machine?\n"
        "Answer: Karl Drais did.\n"
        "A bicycle line that belongs to the answer.\n"
        "Q2: When was it built in Mannheim?\nA2: In 1817.\n"
        "[Question]\nWhat did it lack entirely?\n[Answer]\nPedals.\n"
        "1. **Question:** Where was the ride taken?\n**Answer:** Near Mannheim.\n"
        "Question: A question without any answer at all?"
    )
    pairs = parse.qa_pairs(text)
    assert [(p.question, p.answer) for p in pairs] == [
        (
            "Who built the first running machine?",
            "Karl Drais did.\nA bicycle line that belongs to the answer.",
        ),
        ("When was it built in Mannheim?", "In 1817."),
        ("What did it lack entirely?", "Pedals."),
        ("Where was the ride taken?", "Near Mannheim."),
    ]


def test_contexts_and_answers() -> None:
    body = " ".join(["word"] * 12)
    assert parse.context(f"Sure! <context>\n{body}\n</context> done") == body
    assert parse.context(f"<context>{body}") == body  # unclosed tag runs to the end
    assert parse.context("too short") is None
    assert parse.answer("Answer: 42 grams.") == "42 grams."
    assert parse.answer("   \n") is None
