"""Rules on what the seed examples say: knowledge and skills rules, and size limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
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
                f"seed_examples/{i} has {len(qas)} questions and answers; only the first "
                f"{USED_QA} are used: keep the best {USED_QA}",
            )


def _document(check: FileCheck) -> dict[str, Any]:
    data = check.data
    doc = data.get("document") if isinstance(data, dict) else None
    return doc if isinstance(doc, dict) else {}


def document_commit(check: FileCheck) -> Iterator[Finding]:
    commit = _document(check).get("commit")
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


def duplicate_seeds(check: FileCheck) -> Iterator[Finding]:
    if check.kind != "skills":
        return
    exact: dict[tuple[str, str], int] = {}
    # contexts are long and questions rarely repeat: a context is normalised (once) only when
    # its normalised question is asked by another seed too
    alone: dict[str, tuple[int, str] | None] = {}  # question -> its only seed so far, or None
    near: dict[tuple[str, str], int] = {}  # (question, context), normalised -> first seed
    for i, seed in _seeds(check):
        context, question = _text(seed.get("context")).strip(), _text(seed.get("question"))
        key = (context, question.strip())
        if key in exact:
            yield check.at_path(
                ("seed_examples", i, "question"),
                "duplicate-seed",
                f"seed_examples/{i} asks the same question over the same context as "
                f"seed_examples/{exact[key]}: remove or change one",
            )
            continue
        exact[key] = i
        asked = normalise(question)
        if asked not in alone:
            alone[asked] = (i, context)
            continue
        single = alone[asked]
        if single is not None:
            near[(asked, _loose(single[1]))], alone[asked] = single[0], None
        loose = (asked, _loose(context))
        if loose in near:
            yield check.at_path(
                ("seed_examples", i, "question"),
                "near-duplicate-question",
                f"seed_examples/{i} asks nearly the same question as seed_examples/{near[loose]}"
                " over the same context: make the seeds more diverse",
            )
        near.setdefault(loose, i)


def _loose(context: str) -> str:
    return " ".join(context.lower().split())


def _qa_pairs(check: FileCheck) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    for i, seed in _seeds(check):
        if check.kind == "skills":
            yield ("seed_examples", i), seed
            continue
        qas = seed.get("questions_and_answers")
        for j, qa in enumerate(qas if isinstance(qas, list) else []):
            if isinstance(qa, dict):
                yield ("seed_examples", i, "questions_and_answers", j), qa


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
    for path, qa in _qa_pairs(check):
        question, answer = _text(qa.get("question")), _text(qa.get("answer"))
        short = len(question) + len(answer) < 2 * limit_qa
        words = 0 if short else _words(question) + _words(answer)
        if words > limit_qa:
            yield check.at_path(
                (*path, "question"),
                "qa-too-long",
                f"question and answer of {'/'.join(map(str, path))} have {words} words, more "
                f"than {limit_qa}: shorten them",
            )
