"""Rules on what seeds say: repeated seeds and questions, knowledge contexts and their Q&A."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedtree.validate.api import validate_leaf

SKILL = "taxonomy/compositional_skills/writing/poetry/haiku/qna.yaml"
KNOWLEDGE = "taxonomy/knowledge/history/technology/bicycle/qna.yaml"
REPEATS = {
    "duplicate-seed",
    "repeated-question",
    "near-duplicate-question",
    "near-duplicate-context",
}


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo()


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=4096), encoding="utf-8")
    return path


def _repeats(path: Path) -> list[tuple[str, str, str]]:
    """(rule, severity, message) of every finding about repeated content."""
    return [(f.rule, f.severity, f.message) for f in validate_leaf(path) if f.rule in REPEATS]


def _skill(repo: Path, seeds: list[dict[str, str]]) -> Path:
    path = repo / SKILL
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _write(path, {**data, "seed_examples": seeds})


def test_one_prompt_asked_six_times_with_different_answers_only_warns(repo: Path) -> None:
    """A skill showing the range of good answers: the same request, each answer another value."""
    question = "Improve this prompt: 'Write about dogs.'"
    values = ("curiosity", "loyalty", "humour", "precision", "brevity", "warmth")
    seeds = [{"question": question, "answer": f"Write about a dog's {v}."} for v in values]
    found = validate_leaf(_skill(repo, seeds))
    assert [f for f in found if f.is_error] == []
    repeats = [f for f in found if f.rule in REPEATS]
    assert [(f.rule, f.severity) for f in repeats] == [("repeated-question", "warning")] * 5
    assert [f.message.split(" asks")[0] for f in repeats] == [
        f"seed_examples/{n}" for n in range(1, 6)
    ]
    assert all("as seed_examples/0 with another answer" in f.message for f in repeats)


def test_an_exact_repeat_is_an_error_even_when_only_surrounding_space_differs(
    repo: Path,
) -> None:
    seeds = [
        {"question": f"Write a haiku about {t}.", "answer": f"A haiku on {t}."} for t in "abcde"
    ]
    # the same text, as a block scalar: equal once stripped, so the schema does not see it
    seeds.append({"question": "Write a haiku about b.\n", "answer": "A haiku on b.\n"})
    assert _repeats(_skill(repo, seeds)) == [
        (
            "duplicate-seed",
            "error",
            "seed_examples/5 repeats seed_examples/1: the same question with the same answer: "
            "remove one",
        )
    ]


def test_repeated_question_names_the_first_seed_and_exact_repeat_its_twin(repo: Path) -> None:
    seeds = [{"question": f"q{n}", "answer": f"a{n}"} for n in range(5)]
    seeds += [{"question": "q1", "answer": "other"}, {"question": "q1", "answer": "other\n"}]
    found = _repeats(_skill(repo, seeds))
    assert [(rule, message.split(":")[0]) for rule, _, message in found] == [
        ("repeated-question", "seed_examples/5 asks the same question as seed_examples/1 with "
         "another answer"),
        ("duplicate-seed", "seed_examples/6 repeats seed_examples/5"),
    ]  # fmt: skip


def _knowledge(repo: Path, change: Callable[[list[dict[str, Any]]], None]) -> Path:
    path = repo / KNOWLEDGE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["seed_examples"])
    return _write(path, data)


def test_sample_knowledge_leaf_has_no_repeats(repo: Path) -> None:
    assert _repeats(_knowledge(repo, lambda seeds: None)) == []


def test_knowledge_contexts_equal_but_for_case_and_punctuation_warn(repo: Path) -> None:
    def change(seeds: list[dict[str, Any]]) -> None:
        seeds[3]["context"] = seeds[1]["context"].upper().replace(".", " ;")

    assert _repeats(_knowledge(repo, change)) == [
        (
            "near-duplicate-context",
            "warning",
            "the context of seed_examples/3 is the same as that of seed_examples/1 (up to case, "
            "spacing and punctuation): give each seed another passage of the documents",
        )
    ]


def test_knowledge_questions_repeated_over_one_context(repo: Path) -> None:
    def change(seeds: list[dict[str, Any]]) -> None:
        qas = seeds[2]["questions_and_answers"]
        qas.append({"question": qas[0]["question"], "answer": "Another answer."})
        qas.append(dict(qas[1]))
        qas.append({"question": qas[2]["question"].upper(), "answer": "Loud."})

    found = [
        (rule, message.split(":")[0]) for rule, _, message in _repeats(_knowledge(repo, change))
    ]
    where = "seed_examples/2/questions_and_answers"
    assert found == [
        ("repeated-question", f"{where}/3 asks the same question as {where}/0 over the same "
         "context with another answer"),
        ("duplicate-seed", f"{where}/4 repeats {where}/1"),
        ("near-duplicate-question", f"{where}/5 asks nearly the same question as {where}/2 over "
         "the same context"),
    ]  # fmt: skip


def test_extra_knowledge_qa_says_what_generation_does(repo: Path) -> None:
    def change(seeds: list[dict[str, Any]]) -> None:
        seeds[0]["questions_and_answers"].append({"question": "When?", "answer": "In 1817."})

    (finding,) = [
        f for f in validate_leaf(_knowledge(repo, change)) if f.rule == "knowledge-extra-qa"
    ]
    assert finding.severity == "warning"
    assert "generation shows all 4 as examples in every prompt built on this context" in (
        finding.message
    )
