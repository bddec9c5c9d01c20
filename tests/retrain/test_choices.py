"""Multiple-choice items: the seed items, the tolerant parser, and option log-likelihood scoring."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedtree.errors import UsageError
from seedtree.evaluation.choices import (
    Choice,
    read_choices,
    score_choices,
    seed_choices,
    write_choices,
)
from seedtree.evaluation.mcq import parse_mcqs
from seedtree.samples import Sample
from seedtree.train.evaluate import load_for_eval
from seedtree.train.packing import collate, token_losses

SEEDS = [
    ("What pulls the tides?", "The moon's gravity."),
    ("How many high tides a day?", "Two, about twelve hours apart."),
    ("What is a spring tide?", "A large tide at new and full moon."),
    ("What is a neap tide?", "A small tide at the quarter moons."),
    ("Where are tides largest?", "In funnel-shaped bays like Fundy."),
]


def test_every_seed_is_an_item_with_its_own_answer_among_other_seeds_answers() -> None:
    items = seed_choices("knowledge/tides", SEEDS)
    assert [i.question for i in items] == [q for q, _ in SEEDS]
    answers = {a for _, a in SEEDS}
    for item, (_, answer) in zip(items, SEEDS, strict=True):
        assert item.options[item.answer] == answer
        assert len(item.options) == 4 and set(item.options) <= answers
    assert items == seed_choices("knowledge/tides", SEEDS)  # the same every run
    assert {i.answer for i in items} != {0}  # the right answer is not always first
    assert seed_choices("leaf", SEEDS[:1]) == []  # nothing to tell it from


def test_the_parser_reads_what_small_models_write() -> None:
    text = """Here are the questions.
1. Question: What pulls on the oceans to make tides?
A) The sun's wind
B) The moon's gravity
C) Earth's magnetism
D) Ocean currents
Answer: B

**Question 2:** How many high tides does a coast see each day?
(a) One
(b) Two
(c) Four
**Correct answer:** (b)

Question: Which one is incomplete here?
A. first
B. second
Q: What is a neap tide, according to the text?
A. A small tide
B. A large tide
Answer: A small tide
Question: Is this one answered with a letter out of range?
A. yes
B. no
Answer: D
"""
    found = parse_mcqs(text)
    assert [(p.question[:20], p.answer) for p in found] == [
        ("What pulls on the oc", 1),
        ("How many high tides ", 1),
        ("What is a neap tide,", 0),
    ]
    assert found[0].options == (
        "The sun's wind",
        "The moon's gravity",
        "Earth's magnetism",
        "Ocean currents",
    )
    assert parse_mcqs("no questions at all\n\n***") == []


def test_items_round_trip_and_a_bad_line_is_located(tmp_path: Path) -> None:
    items = seed_choices("knowledge/tides", SEEDS)
    path = tmp_path / "items.jsonl"
    write_choices(path, items)
    assert read_choices(path) == items
    path.write_text(path.read_text() + '{"id": "x"}\n')
    with pytest.raises(UsageError, match=r"items\.jsonl:6:1: not a multiple-choice item"):
        read_choices(path)


def _train(loaded: object, samples: list[Sample], steps: int) -> None:
    import torch

    model = loaded.model  # type: ignore[attr-defined]
    encoded = loaded.renderer.encode_all(samples).encoded  # type: ignore[attr-defined]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    torch.manual_seed(0)
    for _ in range(steps):
        losses = token_losses(model, collate(encoded, range(len(encoded))))
        loss = losses.sum() / sum(e.trained_tokens for e in encoded)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def test_the_scorer_picks_the_option_a_model_was_trained_on(tiny_model_dir: Path) -> None:
    loaded = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    items = [
        Choice(
            id=f"seed:leaf:{n}",
            leaf="leaf",
            source="seed",
            question=question,
            options=options,
            answer=right,
        )
        for n, (question, options, right) in enumerate(
            [
                ("What pulls the tides?", ("The sun.", "The moon.", "The wind."), 1),
                ("Which river is longest?", ("The Nile.", "The Thames.", "The Seine."), 0),
                ("What colour is the sky?", ("Green.", "Red.", "Blue."), 2),
            ]
        )
    ]
    trained = [
        Sample(
            id=f"t{n}",
            leaf="leaf",
            leaf_hash="",
            kind="knowledge",
            length=None,
            system="Be brief.",
            user=i.question,
            assistant=i.options[i.answer],
        )
        for n, i in enumerate(items)
    ]
    _train(loaded, trained, steps=60)
    scores = score_choices(loaded, items, budget=2048)
    assert scores == {i.id: (1, 1) for i in items}
    # and the same model, asked for the wrong options as right, gets none of them
    wrong = [i.model_copy(update={"answer": (i.answer + 1) % 3}) for i in items]
    assert set(score_choices(loaded, wrong, budget=2048).values()) == {(0, 0)}


def test_branch_evaluation_of_one_model_against_itself_shows_no_change(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from retrain.judging_support import first_position_judge
    from seedtree.config import Config
    from seedtree.evaluation.branch import BranchItems, Models, evaluate_branch
    from seedtree.generate.prompts import Prompts

    loaded = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    leaf = "knowledge/tides"
    stored = seed_choices("other", SEEDS)[:2]
    write_choices(
        tmp_path / f"{leaf}.jsonl",
        [i.model_copy(update={"leaf": leaf, "source": "teacher"}) for i in stored],
    )
    items = BranchItems(hashes={leaf: "h1"}, seeds={leaf: SEEDS}, questions=tmp_path)
    config = Config.model_validate({"retrain": {"judge_questions": 2}})
    judge = first_position_judge(tmp_path / "answers.sqlite")
    got = evaluate_branch(Models(loaded, loaded, 2048), items, config, Prompts(), judge)
    found = got.leaves[leaf]
    assert found.accuracy is not None and found.accuracy.items == len(SEEDS) + 2
    assert found.accuracy.change.value == 0.0 and found.seed_accuracy is not None
    assert found.teacher_accuracy is not None and found.teacher_accuracy.items == 2
    assert found.duel is not None and (found.duel.ties, found.duel.wins) == (2, 0)
    assert found.grade is not None and found.grade.change.value == 0.0
    assert got.teacher_calls == 2 * 2 + 2 * 2  # two orders and two grades per question
