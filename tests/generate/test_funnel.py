"""Exact funnels: a scripted teacher decides every outcome, the counts must match by hand."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

from generate.conftest import GROUNDED, KNOWLEDGE, SKILL, leaves_of
from generate.scripted import COMPLETE_STAGES, ScriptedTeacher, no, stage_of, words, yes
from seedtree.config import GenerateConfig
from seedtree.generate.run import generate_leaves
from seedtree.teacher.base import TeacherRequest, TeacherResponse


def scripted_outputs(outputs: list[str]) -> object:
    it: Iterator[str] = iter(outputs)
    return lambda prompt, rng: next(it)


def question_judge(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    return no(prompt, labels) if "reject-me" in prompt else yes(prompt, labels)


def pair_judge(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    return no(prompt, labels) if "thistle" in prompt else yes(prompt, labels)


def blank_answer(prompt: str, rng: random.Random) -> str:
    return "  " if "blank" in prompt.split("Task:\n")[-1] else f"Answer {words(rng, 9)}."


def test_skill_funnel_counts_every_candidate_once(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    seed_copy = leaf.skill_seeds[0].question
    outputs = [
        "\n".join(
            [
                f"1. {seed_copy}",
                "2. Write a haiku about copper lanterns glowing at dusk",
                "3. Write a haiku about copper lanterns glowing at dawn",
                "4. Describe obsidian ravens circling a frozen harbor reject-me",
                "5. Compose verses on saffron meadows blank",
            ]
        ),
        "Sorry, I cannot do that.\n\nReally.",
        "1. Sketch a brief poem about thistle and spruce\n2. Write a haiku on the tundra wind",
        "1. Write a haiku on marble quarries\n2. Pen a haiku for walnut groves",
    ]
    teacher = ScriptedTeacher(
        writers={"questions": scripted_outputs(outputs), "answer": blank_answer},
        scorers={"judge_question": question_judge, "judge_pair": pair_judge},
    )
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=4, max_attempts_factor=5)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    result = report.leaves[SKILL]
    got = result.funnel.to_json()
    assert {k: got[k] for k in got if got[k] is not None and k != "top_rejections"} == {
        "wanted": 4, "attempt_cap": 4, "attempts": 4, "prompts_sent": 10, "judge_requests": 12,
        "teacher_calls": 22, "from_store": 0, "completions": 10, "parse_failures": 2, "parsed": 9,
        "duplicates": 2, "after_dedup": 7, "passed_question": 6, "answered": 5, "passed_pair": 4,
        "accepted": 4,
        "rejections": {
            "duplicate": 1, "judge pair": 1, "judge question": 1, "parse failure: empty answer": 1,
            "parse failure: no question found": 1, "seed copy": 1,
        },
    }  # fmt: skip
    assert teacher.total == 22
    questions = [s["messages"][1]["content"] for s in result.samples]
    assert questions == [
        "Write a haiku about copper lanterns glowing at dusk",
        "Write a haiku on the tundra wind",
        "Write a haiku on marble quarries",
        "Pen a haiku for walnut groves",
    ]
    saved = json.loads((tmp_path / SKILL / "funnel.json").read_text())
    assert saved["funnel"]["accepted"] == 4 and saved["leaf_hash"] == result.leaf_hash
    lines = (tmp_path / SKILL / "samples.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == result.samples


def test_sample_records_explain_themselves(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    teacher = ScriptedTeacher()
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=2)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    sample = report.leaves[SKILL].samples[0]
    assert [m["role"] for m in sample["messages"]] == ["system", "user", "assistant"]
    meta = sample["metadata"]
    assert meta["leaf"] == SKILL and meta["kind"] == "skill" and meta["length"] == "short"
    assert meta["teacher"] == {
        "id": "scripted:scripted",
        "temperature": 0.7,
        "top_p": 0.95,
        "max_tokens": 256,
    }
    assert set(meta["prompt_version"]) == {"questions", "judge_question", "answer", "judge_pair"}
    assert meta["prompt_version"]["answer"].startswith("answer@1#")
    assert set(meta["judge_scores"]) == {"question", "pair", "pair_rating"}
    assert meta["judge_scores"]["pair_rating"] == 2.75
    from helpers import git

    assert meta["taxonomy_commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert len(meta["seed_ids"]) == config.seeds_per_prompt + 1
    assert all(s.startswith("seed:") for s in meta["seed_ids"])
    assert sample["id"].startswith(f"{SKILL}:")


class RecordingTeacher(ScriptedTeacher):
    """Keeps the temperature of every completion request, by the template it renders."""

    def __init__(self) -> None:
        super().__init__()
        self.temperatures: dict[str, set[float]] = {}

    def _one(self, request: TeacherRequest) -> TeacherResponse:
        stage = stage_of(request.messages[-1].content, COMPLETE_STAGES)
        self.temperatures.setdefault(stage, set()).add(request.temperature)
        return super()._one(request)


def test_answer_temperature_applies_to_the_answer_stage_only(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    teacher = RecordingTeacher()
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=2, answer_temperature=0.2)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    assert teacher.temperatures == {"questions": {0.7}, "answer": {0.2}}
    sample = report.leaves[SKILL].samples[0]
    assert sample["metadata"]["teacher"]["answer_temperature"] == 0.2
    assert sample["metadata"]["teacher"]["temperature"] == 0.7


def faithful(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    return no(prompt, labels) if "unfaithful" in prompt else yes(prompt, labels)


def safe(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    return no(prompt, labels) if "hazard" in prompt else yes(prompt, labels)


def knowledge_qa(prompt: str, rng: random.Random) -> str:
    detailed = "detailed paragraph" in prompt
    answer = words(rng, 60 if detailed else 6)
    return (
        f"Question: What about {words(rng, 5)} unfaithful hazard?\nAnswer: {answer}\n"
        f"Question: What about {words(rng, 5)} hazard?\nAnswer: {answer}\n"
        f"Question: What about {words(rng, 5)}?\nAnswer: {answer}\n"
    )


def test_knowledge_judges_chunks_and_lengths(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, KNOWLEDGE)
    teacher = ScriptedTeacher(
        writers={"knowledge_qa": knowledge_qa},
        scorers={"judge_faithfulness": faithful, "judge_safety": safe},
    )
    config = GenerateConfig(
        tokenizer="whitespace", samples_per_leaf=4, questions_per_prompt=3, chunk_tokens=150
    )
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    result = report.leaves[KNOWLEDGE]
    f = result.funnel
    # 1 of 3 candidates per prompt passes: first round 4 / (3 * 0.5) -> 3 prompts, then 1 more
    assert (f.attempts, f.parsed, f.accepted) == (4, 12, 4)
    assert f.rejections == {"judge faithfulness": 4, "judge safety": 4}
    assert (f.passed_faithfulness, f.passed_safety, f.passed_relevancy) == (8, 4, 12)
    assert teacher.calls["judge_safety"] == 12  # every judge scores every candidate
    assert [s["metadata"]["length"] for s in result.samples] == ["short", "long", "short", "long"]
    chunk_ids = [s["metadata"]["chunk_id"] for s in result.samples]
    assert chunk_ids == [c.id for c in result.chunks[:4]]  # chunks are used in turn
    for sample, chunk in zip(result.samples, result.chunks, strict=False):
        assert sample["metadata"]["chunk_text"] == chunk.text
        assert any(chunk.text in prompt for prompt in teacher.prompts)
    assert all(s["metadata"]["kind"] == "knowledge" for s in result.samples)


def contexts_then_questions(prompt: str, rng: random.Random) -> str:
    question = "Summarize the decisions taken in these notes"
    return f"1. {question}\n2. {question}!"


def test_grounded_duplicates_are_per_context(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, GROUNDED)
    seed_context = leaf.skill_seeds[0].context
    contexts = iter(
        [f"<context>{seed_context}</context>"]
        + [f"<context>{words(random.Random(i), 30)}</context>" for i in range(20)]
    )
    teacher = ScriptedTeacher(
        writers={
            "contexts": lambda p, r: next(contexts),
            "grounded_questions": contexts_then_questions,
        }
    )
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=2, questions_per_prompt=2)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    f = report.leaves[GROUNDED].funnel
    # round 1: 2 contexts asked, the first copies a seed context; the second gets the same
    # question twice: one kept. Round 2 (yield 1 per 2 attempts): 2 new contexts, each keeps the
    # same question once more (other contexts do not count), and 1 of them fills the need.
    assert f.rejections == {"context seed copy": 1, "duplicate": 3}
    assert (f.contexts, f.after_dedup, f.accepted) == (3, 3, 2)
    samples = report.leaves[GROUNDED].samples
    assert samples[0]["messages"][1]["content"].endswith(
        "Summarize the decisions taken in these notes"
    )
    assert samples[0]["metadata"]["context"] != samples[1]["metadata"]["context"]
    assert samples[0]["messages"][1]["content"].startswith(samples[0]["metadata"]["context"])


def test_one_batch_per_step_across_leaves(repo: Path, tmp_path: Path) -> None:
    leaves = leaves_of(repo)
    teacher = ScriptedTeacher()
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=5, batch_requests=1000)
    report = generate_leaves(
        leaves, teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    assert all(r.funnel.accepted == 5 for r in report.leaves.values())
    # first step: every leaf's first generation prompts in one call
    first = sum(2 for _ in leaves)  # ceil(5 / (5 * 0.5)) prompts per leaf
    assert teacher.batches[0] == first
    # one generation call and one scoring call per step at most, not one per leaf and stage
    assert len(teacher.batches) <= 10
