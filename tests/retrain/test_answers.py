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


def test_a_model_answers_and_scores_the_same_text_once(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint choice and the evaluation score the released model on the same items, and
    the report and the judge ask it the same first seed question: each is computed once."""
    from seedtree.evaluation import answers
    from seedtree.train import evaluate
    from seedtree.train.evaluate import score_items

    asked: list[int] = []
    scored: list[int] = []
    real_answer, real_sums = answers.answer_prompts, evaluate._item_sums

    def count_answers(
        model: object, tokenizer: object, prompts: Sequence[str], *a: object
    ) -> list[str]:
        asked.append(len(prompts))
        return real_answer(model, tokenizer, prompts, *a)  # type: ignore[arg-type]

    def count_sums(model: object, encoded: Sequence[object], budget: int) -> list[float]:
        scored.append(len(encoded))
        return real_sums(model, encoded, budget)  # type: ignore[arg-type]

    monkeypatch.setattr(answers, "answer_prompts", count_answers)
    monkeypatch.setattr(evaluate, "_item_sums", count_sums)
    model = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    first = answers.model_answers(model, ["Antonym of hot?", "Antonym of up?"], 6, ChatConfig())
    again = answers.model_answers(model, ["Antonym of up?", "Antonym of hot?"], 6, ChatConfig())
    assert asked == [2] and again == first[::-1]
    answers.model_answers(model, ["Antonym of up?"], 7, ChatConfig())  # other settings: asked
    assert asked == [2, 1]

    seeds = {"skills/antonyms": [("Antonym of hot?", "Cold."), ("Antonym of up?", "Down.")]}
    once = score_items(model, {}, seeds, 256)
    assert score_items(model, {}, seeds, 256) == once
    more = {"skills/antonyms": [*seeds["skills/antonyms"], ("Antonym of in?", "Out.")]}
    score_items(model, {}, more, 256)
    assert scored == [2, 1]  # the third seed only; a fresh load scores everything again
    fresh = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    assert score_items(fresh, {}, seeds, 256) == once and scored == [2, 1, 2]
