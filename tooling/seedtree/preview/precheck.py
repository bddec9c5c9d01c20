"""Precheck: does the current released model already answer a changed leaf's seed questions?

For each leaf, the current model answers the leaf's seed questions (greedy, one batch); each
answer is shown beside the contributor's with their ROUGE-L F1 (the share of words they have in
common, in order) and, when ``precheck.judge`` is set, the configured teacher's rating of the
model's answer (the generation pipeline's pair judge, 1 to 3). A one-line verdict in plain words
says how many it already answers like the contributor.

The current model is any :class:`~seedtree.teacher.base.Teacher`: an OpenAI-compatible server
(vLLM, ``seedtree serve`` on the current release) or the release's folder loaded here. Which
release is current is decided by the caller (the command line), from the model tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seedtree.config import PrecheckConfig, TeacherConfig
from seedtree.errors import UsageError
from seedtree.generate.dedup import rouge_l, tokens
from seedtree.generate.prompts import Prompts
from seedtree.preview.model import PrecheckAnswer, PrecheckView
from seedtree.project import Project
from seedtree.taxonomy.leaves import Leaf
from seedtree.teacher import Message, ScoreRequest, Teacher, TeacherRequest, create_teacher
from seedtree.versions.artifacts import local_artifacts
from seedtree.versions.chat import read_chat_settings
from seedtree.versions.tags import current_release

PAIR_JUDGE = "judge_pair"
Seed = tuple[str | None, str, str]  # context, question, the contributor's answer


@dataclass(frozen=True)
class CurrentModel:
    """How to reach the current released model, and what the comment calls it."""

    teacher: TeacherConfig
    label: str
    system_prompt: str | None = None


def served_model(settings: PrecheckConfig, base: TeacherConfig) -> CurrentModel:
    """The current model behind ``precheck.base_urls`` (an OpenAI-compatible server)."""
    update = {"backend": "openai", "base_urls": settings.base_urls, "model": settings.model,
              "api_key_env": settings.api_key_env}  # fmt: skip
    return CurrentModel(base.model_copy(update=update), f"{settings.model} (served)")


def local_model(
    folder: Path, label: str, base: TeacherConfig, system_prompt: str | None = None
) -> CurrentModel:
    """The current model loaded here from its Hugging Face-format folder."""
    config = base.model_copy(update={"backend": "embedded", "model": str(folder)})
    return CurrentModel(config, label, system_prompt)


def seeds_of(leaf: Leaf, limit: int) -> list[Seed]:
    """The leaf's first ``limit`` seed questions with their context and answer."""
    found: list[Seed]
    if leaf.kind == "knowledge":
        found = [(s.context, qa.question, qa.answer) for s in leaf.knowledge_seeds for qa in s.qas]
    else:
        found = [(s.context, s.question, s.answer) for s in leaf.skill_seeds]
    return found[:limit]


def _question(kind: str, context: str | None, question: str) -> str:
    """What the model is asked: a knowledge question alone (does it know it?), a grounded skill's
    question with its context (the context is part of the task)."""
    if kind == "knowledge" or not context:
        return question
    return f"{context}\n\n{question}"


def _requests(model: CurrentModel, asked: Sequence[str], max_tokens: int) -> list[TeacherRequest]:
    system = (Message("system", model.system_prompt),) if model.system_prompt else ()
    return [
        TeacherRequest((*system, Message("user", q)), temperature=0.0, max_tokens=max_tokens)
        for q in asked
    ]


def _grades(judge: Teacher, prompts: Prompts, rows: Sequence[tuple[str, str, str]]) -> list[int]:
    """The pair judge's most likely rating (1 to 3) of each (context, question, answer)."""
    template = prompts.get(PAIR_JUDGE)
    requests = [
        ScoreRequest(
            messages=(
                Message("user", prompts.render(PAIR_JUDGE, context=c, question=q, answer=a)),
            ),
            labels=template.labels,
        )
        for c, q, a in rows
    ]
    return [int(scores.best) for scores in judge.score_labels(requests)]


def verdict(alike: int, total: int) -> str:
    """One line in plain words: how much of the leaf the current model already answers."""
    if total == 0:
        return "no seed question to ask the current model"
    if 2 * alike >= total:
        share = f"all {total}" if alike == total else f"{alike} of {total}"
        return (
            f"the current model already answers {share} like the contributor: "
            "this leaf may add little"
        )
    if alike == 0:
        return (
            f"the current model answers none of the {total} like the contributor: "
            "this leaf teaches it something new"
        )
    return (
        f"the current model answers {alike} of {total} like the contributor: "
        "this leaf adds to what it knows"
    )


def _view(
    model: CurrentModel, settings: PrecheckConfig, seeds: Sequence[Seed], answers: Sequence[str],
    grades: Sequence[int | None],
) -> PrecheckView:  # fmt: skip
    rows = [
        PrecheckAnswer(
            question=q,
            context=c,
            contributor=a,
            model=m,
            grade=g,
            similarity=round(rouge_l(tokens(m), tokens(a)), 3),
        )
        for (c, q, a), m, g in zip(seeds, answers, grades, strict=True)
    ]
    alike = sum(1 for r in rows if r.similarity >= settings.similar)
    return PrecheckView(
        model=model.label, similar=settings.similar, answers=rows, verdict=verdict(alike, len(rows))
    )


def precheck(
    leaves: Sequence[Leaf],
    model: CurrentModel,
    settings: PrecheckConfig,
    *,
    judge: Teacher | None = None,
    prompts: Prompts | None = None,
) -> dict[str, PrecheckView]:
    """Per leaf id: the current model's answers to its seed questions, scored, and a verdict."""
    seeds = {leaf.id: seeds_of(leaf, settings.max_questions) for leaf in leaves}
    kinds = {leaf.id: leaf.kind for leaf in leaves}
    every = [(kinds[i], seed) for i, rows in seeds.items() for seed in rows]
    answers = _answers(model, [_question(k, c, q) for k, (c, q, _) in every], settings.max_tokens)
    grades: list[int | None] = [None] * len(answers)
    if judge is not None and answers:
        rows = [(c or "", q, m) for (_, (c, q, _)), m in zip(every, answers, strict=True)]
        grades = list(_grades(judge, prompts or Prompts(), rows))
    out, at = {}, 0
    for leaf_id, leaf_seeds in seeds.items():
        span = slice(at, at + len(leaf_seeds))
        out[leaf_id] = _view(model, settings, leaf_seeds, answers[span], grades[span])
        at += len(leaf_seeds)
    return out


def _answers(model: CurrentModel, asked: Sequence[str], max_tokens: int) -> list[str]:
    """The current model's answer to each question (nothing is loaded when there is none)."""
    if not asked:
        return []
    teacher = create_teacher(model.teacher)
    try:
        replies = teacher.complete(_requests(model, asked, max_tokens))
    finally:
        teacher.close()
    return [r.completions[0].text.strip() if r.completions else "" for r in replies]


def current_model(project: Project) -> CurrentModel:
    """The current release: served (``precheck.base_urls``) or loaded here from its folder
    (restored from the artifact store and checked when it is not here)."""
    settings = project.config.precheck
    if settings.base_urls:
        return served_model(settings, project.config.teacher)
    release = current_release(project.repo_root)
    if release is None:
        raise UsageError(
            "--precheck: no model version released yet, so there is no current model",
            hint="set precheck.base_urls to a served model, or release v1 (`seedtree retrain`)",
        )
    folder = local_artifacts(project.repo_root, project.config.store, release)
    system = read_chat_settings(folder / "chat.json").system_prompt
    label = f"{release.version} ({release.commit[:12]})"
    return local_model(folder / "model", label, project.config.teacher, system)
