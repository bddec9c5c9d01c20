"""Every candidate a run makes, with its verdict; a preview's limits change what is asked, not
what is kept."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from generate.conftest import GROUNDED, KNOWLEDGE, SKILL, leaves_of
from generate.scripted import COMPLETE_STAGES, ScriptedTeacher, no, stage_of, words, yes
from generate.test_funnel import question_judge, scripted_outputs
from seedtree.config import GenerateConfig
from seedtree.generate.limits import Limits
from seedtree.generate.run import generate_leaves
from seedtree.teacher.base import TeacherRequest, TeacherResponse


class RecordingTeacher(ScriptedTeacher):
    """The scripted teacher, also noting the ``max_tokens`` each stage asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.max_tokens: dict[str, set[int]] = {}

    def _one(self, request: TeacherRequest) -> TeacherResponse:
        stage = stage_of(request.messages[-1].content, COMPLETE_STAGES)
        self.max_tokens.setdefault(stage, set()).add(request.max_tokens)
        return super()._one(request)


def low(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    """Every candidate scored low by every judge."""
    return no(prompt, labels)


def test_a_full_run_records_every_candidate_as_its_funnel_counts_it(
    repo: Path, tmp_path: Path
) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    seed_copy = leaf.skill_seeds[0].question
    outputs = [
        f"1. {seed_copy}\n2. Write a haiku on copper lanterns\n3. Write a haiku on copper lantern"
        "\n4. Describe ravens circling a harbor reject-me",
        "Sorry, I cannot do that.\n\nReally.",
        "1. Pen a haiku for walnut groves\n2. Write a haiku on the tundra wind",
        "No.",
    ]
    teacher = ScriptedTeacher(
        writers={"questions": scripted_outputs(outputs)}, scorers={"judge_question": question_judge}
    )
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=2, max_attempts_factor=10)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    result = report.leaves[SKILL]
    found = result.outcomes
    assert [o.question for o in found] == [
        seed_copy, "Write a haiku on copper lanterns", "Write a haiku on copper lantern",
        "Describe ravens circling a harbor reject-me", "",
        "Pen a haiku for walnut groves", "Write a haiku on the tundra wind", "",
    ]  # fmt: skip
    assert [o.verdict for o in found] == [
        "rejected: seed copy", "kept", "rejected: duplicate",
        "rejected: judge question: 0.10 < threshold 0.5",
        "rejected: parse failure: no question found", "kept",
        "passed every judge; not needed (the leaf had its samples)",
        "rejected: parse failure: no question found",
    ]  # fmt: skip
    assert (found[4].raw, found[7].raw) == ("Sorry, I cannot do that.\n\nReally.", "No.")
    assert found[3].scores == {"question": 0.1}
    assert found[3].answer is None  # a full run does not answer what the question judge rejects
    reasons = Counter(o.rejection.reason for o in found if o.rejection is not None)
    assert reasons == result.funnel.rejections
    kept = [o.question for o in found if o.kept]
    assert kept == [s["messages"][1]["content"] for s in result.samples]


def test_a_capped_run_judges_every_candidate_and_keeps_none_scored_low(
    repo: Path, tmp_path: Path
) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    teacher = ScriptedTeacher(scorers={"judge_question": low, "judge_pair": low})
    config = GenerateConfig(tokenizer="whitespace", max_attempts_factor=2)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, samples=3, out_dir=tmp_path,
        quiet=True, limits=Limits(candidates=3),
    )  # fmt: skip
    result = report.leaves[SKILL]
    judged = [o for o in result.outcomes if o.scores]
    assert len(judged) == 3 and result.samples == []
    for outcome in judged:
        # answered and scored by the pair judge although the question judge rejected it
        assert outcome.answer and outcome.answer.startswith("The answer is ")
        assert outcome.scores["question"] == 0.1 and outcome.scores["pair"] == 0.1
        assert outcome.verdict == "rejected: judge question: 0.10 < threshold 0.5"
    capped = [o for o in result.outcomes if not o.scores]
    assert capped and all(o.verdict == "rejected: over the cap of 3 candidates" for o in capped)
    # one round of ceil(3 / (5 * 0.5)) = 2 prompts (the attempt cap): 10 candidates, 3 judged
    assert teacher.calls == {"questions": 2, "judge_question": 3, "answer": 3, "judge_pair": 3}
    f = result.funnel
    assert (f.passed_question, f.answered, f.passed_pair, f.accepted) == (0, 3, 0, 0)
    assert f.rejections == {"judge question": 3, "over the cap of 3 candidates": 7}


def pair_only_for_lanterns(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    return yes(prompt, labels) if "lantern" in prompt else no(prompt, labels)


def test_a_capped_run_keeps_by_the_full_runs_rule(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    outputs = ["1. Write a haiku on lanterns\n2. Describe a river delta\n3. Ode reject-me lantern"]
    teacher = ScriptedTeacher(
        writers={"questions": scripted_outputs(outputs)},
        scorers={"judge_question": question_judge, "judge_pair": pair_only_for_lanterns},
    )
    config = GenerateConfig(tokenizer="whitespace", questions_per_prompt=3, max_attempts_factor=1)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, samples=3, out_dir=tmp_path,
        quiet=True, limits=Limits(candidates=3),
    )  # fmt: skip
    verdicts = {o.question: o.verdict for o in report.leaves[SKILL].outcomes}
    assert verdicts == {
        "Write a haiku on lanterns": "kept",
        "Describe a river delta": "rejected: judge pair: 0.10 < threshold 0.5",
        "Ode reject-me lantern": "rejected: judge question: 0.10 < threshold 0.5",
    }
    (sample,) = report.leaves[SKILL].samples
    assert sample["messages"][1]["content"] == "Write a haiku on lanterns"


def test_limits_cap_tokens_per_stage_and_chunks_per_document(repo: Path, tmp_path: Path) -> None:
    leaves = leaves_of(repo, KNOWLEDGE, GROUNDED)
    teacher = RecordingTeacher()
    config = GenerateConfig(tokenizer="whitespace", chunk_tokens=120, max_tokens=200)
    limits = Limits(
        candidates=2, max_tokens={"knowledge_qa": 90, "contexts": 50, "answer": 300},
        chunks_per_document=1,
    )  # fmt: skip
    report = generate_leaves(
        leaves, teacher, repo_root=repo, config=config, samples=2, out_dir=tmp_path,
        quiet=True, limits=limits,
    )  # fmt: skip
    assert teacher.max_tokens == {
        "knowledge_qa": {90}, "contexts": {50}, "grounded_questions": {200}, "answer": {200},
    }  # fmt: skip
    (chunk,) = report.leaves[KNOWLEDGE].chunks
    assert chunk.index == 0
    full = generate_leaves(
        leaves_of(repo, KNOWLEDGE), ScriptedTeacher(), repo_root=repo, config=config,
        samples=1, out_dir=tmp_path / "full", quiet=True,
    )  # fmt: skip
    assert len(full.leaves[KNOWLEDGE].chunks) > 1


def faithless_qa(prompt: str, rng: random.Random) -> str:
    return "\n".join(f"Question: Why {words(rng, 5)}?\nAnswer: {words(rng, 6)}." for _ in range(4))


def test_knowledge_candidates_carry_every_judges_score_and_the_first_failure(
    repo: Path, tmp_path: Path
) -> None:
    (leaf,) = leaves_of(repo, KNOWLEDGE)
    teacher = ScriptedTeacher(
        writers={"knowledge_qa": faithless_qa},
        scorers={"judge_faithfulness": low, "judge_safety": low},
    )
    config = GenerateConfig(tokenizer="whitespace", chunk_tokens=150)
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, samples=2, out_dir=tmp_path,
        quiet=True, limits=Limits(candidates=2),
    )  # fmt: skip
    judged = [o for o in report.leaves[KNOWLEDGE].outcomes if o.scores]
    assert len(judged) == 2
    for outcome in judged:
        assert set(outcome.scores) == {
            "faithfulness", "relevancy", "knowledge_question", "safety"
        }  # fmt: skip
        assert outcome.verdict == "rejected: judge faithfulness: 0.10 < threshold 0.5"
        assert outcome.chunk_id is not None and outcome.chunk_id.endswith("#0")
