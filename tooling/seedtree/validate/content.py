"""Rules on what the seed examples say: knowledge and skills rules, and size limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from seedtree.findings import Finding
from seedtree.validate.context import FileCheck

USED_QA = 3
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_NOT_WORD = re.compile(r"[\W_]+")


def _seeds(check: FileCheck) -> list[tuple[int, dict[str, Any]]]:
    data = check.data
    seeds = data.get("seed_examples") if isinstance(data, dict) else None
    if not isinstance(seeds, list):
        return []
    return [(i, s) for i, s in enumerate(seeds) if isinstance(s, dict)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _words(value: Any) -> int:
    return len(_text(value).split())


def normalise(text: str) -> str:
    """Lowercase words without punctuation: what "near-duplicate" compares."""
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


def knowledge_extra_qa(check: FileCheck) -> Iterator[Finding]:
    if check.kind != "knowledge":
        return
    for i, seed in _seeds(check):
        qas = seed.get("questions_and_answers")
        if isinstance(qas, list) and len(qas) > USED_QA:
            yield check.at_path(
                ("seed_examples", i, "questions_and_answers", USED_QA),
                "knowledge-extra-qa",
                f"seed_examples/{i} has {len(qas)} questions and answers; generation shows all "
                f"{len(qas)} as examples in every prompt built on this context, a longer prompt "
                f"than the {USED_QA} of the LAB recipe: keep the best {USED_QA}",
            )


def _document(check: FileCheck) -> dict[str, Any]:
    data = check.data
    doc = data.get("document") if isinstance(data, dict) else None
    return doc if isinstance(doc, dict) else {}


def document_commit(check: FileCheck) -> Iterator[Finding]:
    commit, repo = _document(check).get("commit"), _document(check).get("repo")
    in_place = isinstance(repo, str) and (repo.strip() in (".", "./") or repo.startswith("/"))
    if in_place:  # read in place: an error, `document-commit-ref` (validate/documents.py)
        return
    if check.kind == "knowledge" and isinstance(commit, str) and not _FULL_SHA.match(commit):
        yield check.at_path(
            ("document", "commit"),
            "document-commit",
            f"commit '{commit}' is not a full 40-character SHA and may become ambiguous: "
            "write the full SHA",
        )


def context_mixed(check: FileCheck) -> Iterator[Finding]:
    if check.kind != "skills":
        return
    seeds = _seeds(check)
    with_context = [i for i, s in seeds if "context" in s]
    without = [i for i, s in seeds if "context" not in s]
    if with_context and without:
        odd = without if len(without) <= len(with_context) else with_context
        has = "has no" if odd is without else "has a"
        for i in odd:
            yield check.at_path(
                ("seed_examples", i),
                "context-mixed",
                f"seed_examples/{i} {has} context unlike the others: give every seed a "
                "context (grounded skill) or none",
            )


@dataclass(frozen=True)
class _Asked:
    """A question asked by a seed (a skill seed, or one Q&A of a knowledge seed)."""

    path: tuple[Any, ...]
    context: str
    question: str
    answer: str

    @property
    def name(self) -> str:
        return "/".join(map(str, self.path))


def _asked(check: FileCheck) -> Iterator[_Asked]:
    for i, seed in _seeds(check):
        context = _text(seed.get("context")).strip()
        if check.kind == "skills":
            pairs: list[tuple[tuple[Any, ...], Any]] = [(("seed_examples", i), seed)]
        else:
            qas = seed.get("questions_and_answers")
            pairs = [
                (("seed_examples", i, "questions_and_answers", j), qa)
                for j, qa in enumerate(qas if isinstance(qas, list) else [])
            ]
        for path, qa in pairs:
            if isinstance(qa, dict):
                yield _Asked(path, context, _text(qa.get("question")), _text(qa.get("answer")))


def duplicate_seeds(check: FileCheck) -> Iterator[Finding]:
    """An exact repeat (context, question and answer) is an error; the same question with another
    answer a warning (it may show the range of good answers); a question that differs only in
    case, spacing or punctuation over the same context a warning."""
    answers: dict[tuple[str, str], dict[str, str]] = {}  # (context, question) -> answer -> seed
    near = _NearQuestions()
    for asked in _asked(check):
        key, answer = (asked.context, asked.question.strip()), asked.answer.strip()
        seen = answers.setdefault(key, {})
        if not seen:
            yield from near.add(check, asked)
        elif answer in seen:
            yield _duplicate(check, asked, seen[answer])
        else:
            yield _repeated(check, asked, next(iter(seen.values())))
        seen.setdefault(answer, asked.name)


def _duplicate(check: FileCheck, asked: _Asked, first: str) -> Finding:
    over = " over the same context" if asked.context else ""
    return check.at_path(
        (*asked.path, "question"),
        "duplicate-seed",
        f"{asked.name} repeats {first}: the same question{over} with the same answer: remove one",
    )


def _repeated(check: FileCheck, asked: _Asked, first: str) -> Finding:
    over = " over the same context" if asked.context else ""
    return check.at_path(
        (*asked.path, "question"),
        "repeated-question",
        f"{asked.name} asks the same question as {first}{over} with another answer: keep it if "
        "the answers show the range of good answers, otherwise ask another question",
    )


class _NearQuestions:
    """Questions equal once normalised, over the same context. Contexts are long and questions
    rarely repeat: a context is lowercased (once) only when its normalised question is asked by
    another seed too."""

    def __init__(self) -> None:
        self.alone: dict[str, _Asked | None] = {}  # question -> its only seed so far, or None
        self.first: dict[tuple[str, str], str] = {}  # (question, context), loose -> first seed

    def add(self, check: FileCheck, asked: _Asked) -> Iterator[Finding]:
        question = normalise(asked.question)
        if question not in self.alone:
            self.alone[question] = asked
            return
        single = self.alone[question]
        if single is not None:
            self.first[(question, _loose(single.context))] = single.name
            self.alone[question] = None
        loose = (question, _loose(asked.context))
        if loose in self.first:
            yield check.at_path(
                (*asked.path, "question"),
                "near-duplicate-question",
                f"{asked.name} asks nearly the same question as {self.first[loose]} over the "
                "same context: make the seeds more diverse",
            )
        self.first.setdefault(loose, asked.name)


def _loose(context: str) -> str:
    return " ".join(context.lower().split())


def near_duplicate_contexts(check: FileCheck) -> Iterator[Finding]:
    """Knowledge seeds whose contexts are equal once normalised: one passage shown twice."""
    if check.kind != "knowledge":
        return
    first: dict[str, int] = {}
    for i, seed in _seeds(check):
        context = normalise(_text(seed.get("context")))
        if context and context in first:
            yield check.at_path(
                ("seed_examples", i, "context"),
                "near-duplicate-context",
                f"the context of seed_examples/{i} is the same as that of "
                f"seed_examples/{first[context]} (up to case, spacing and punctuation): give "
                "each seed another passage of the documents",
            )
        first.setdefault(context, i)


def sizes(check: FileCheck) -> Iterator[Finding]:
    limit_context, limit_qa = check.config.max_context_words, check.config.max_qa_words
    for i, seed in _seeds(check):
        context = _text(seed.get("context"))
        # n words need at least 2n - 1 characters: most texts need no counting
        words = _words(context) if len(context) >= 2 * limit_context else 0
        if words > limit_context:
            yield check.at_path(
                ("seed_examples", i, "context"),
                "context-too-long",
                f"context of seed_examples/{i} has {words} words, more than {limit_context}: "
                "shorten it",
            )
    for asked in _asked(check):
        short = len(asked.question) + len(asked.answer) < 2 * limit_qa
        words = 0 if short else _words(asked.question) + _words(asked.answer)
        if words > limit_qa:
            yield check.at_path(
                (*asked.path, "question"),
                "qa-too-long",
                f"question and answer of {asked.name} have {words} words, more than {limit_qa}: "
                "shorten them",
            )
