"""Answers side by side: real greedy answers from a tiny model, ROUGE-L recall, the judge."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from seedtree.config import ChatConfig
from seedtree.evaluation.answers import GIVES_ANSWER, rouge_l_recall, side_by_side
from seedtree.evaluation.evidence import AnswerScores
from seedtree.train.evaluate import load_for_eval


def test_rouge_l_recall_is_the_share_of_the_reference_in_order() -> None:
    assert rouge_l_recall("the moon pulls the sea", "the moon pulls the sea") == 1.0
    assert rouge_l_recall("the moon pulls", "the moon pulls the sea") == pytest.approx(0.6)
    assert rouge_l_recall("sea pulls moon the", "the moon pulls the sea") == pytest.approx(0.4)
    assert rouge_l_recall("anything", "") == 1.0


def test_side_by_side_answers_and_scores_with_a_judge(tiny_model_dir: Path) -> None:
    model = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    seeds = {
        "knowledge/tides": [("What causes tides?", "The moon."), ("When?", "Twice a day.")],
        "skills/antonyms": [("Antonym of hot?", "Cold."), ("Antonym of up?", "Down.")],
    }
    judged: list[tuple[str, str, str]] = []

    def judge(items: Sequence[tuple[str, str, str]]) -> list[float]:
        judged.extend(items)
        return [0.25] * len(items)

    contexts = {"knowledge/tides": ["Tides follow the moon.", "Two tides a day."]}
    got = side_by_side(model, model, seeds, contexts, 6, ChatConfig(), judge)
    assert set(got) == set(seeds)
    tides = got["knowledge/tides"]
    assert tides.example.question == "What causes tides?" and tides.example.reference == "The moon."
    assert tides.example.before == tides.example.after  # same model, greedy
    assert tides.scores is not None and tides.scores.questions == 2
    assert tides.scores.rouge_before == tides.scores.rouge_after
    assert tides.scores.judge_before == tides.scores.judge_after == 0.25
    assert len(judged) == 4 and judged[0][:2] == ("Tides follow the moon.", "What causes tides?")
    assert got["skills/antonyms"].scores is None  # skills: one example, no answer score


def test_the_report_says_whether_the_document_answer_is_given_now() -> None:
    gained = AnswerScores(
        questions=15, rouge_before=0.2, rouge_after=0.4, gives_before=1, gives_after=4
    )
    assert gained.gives_words() == (
        "The new model gives the document's answer to 4 of 15 seed questions "
        "(the previous one to 1): more often than before."
    )
    lost = gained.model_copy(update={"gives_after": 0})
    assert "to 0 of 15" in (lost.gives_words() or "") and "less often" in (lost.gives_words() or "")
    same = gained.model_copy(update={"gives_after": 1})
    assert (same.gives_words() or "").endswith("(the previous one to 1): as often as before.")
    old_journal = AnswerScores(questions=3, rouge_before=0.1, rouge_after=0.1)
    assert old_journal.gives_words() is None


def test_an_answer_gives_the_document_answer_when_it_recalls_half_of_it(
    tiny_model_dir: Path,
) -> None:
    assert rouge_l_recall("Karl Drais in 1817", "Karl Drais built it in 1817.") >= GIVES_ANSWER
    assert rouge_l_recall("John Boyd Dunlop in 1866", "Karl Drais built it in 1817.") < GIVES_ANSWER
    model = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    seeds = {"knowledge/tides": [("What causes tides?", ""), ("When?", "")]}
    got = side_by_side(model, model, seeds, {"knowledge/tides": ["a", "b"]}, 4, ChatConfig())
    scores = got["knowledge/tides"].scores
    assert scores is not None and scores.gives_before == scores.gives_after == 2  # "" is recalled
