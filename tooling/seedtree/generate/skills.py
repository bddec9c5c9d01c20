"""The skill pipelines: freeform skills and grounded skills (see :mod:`.pipelines`).

A freeform skill: questions written from seed questions (listed in an instruction, or as
conversation turns with ``few_shot: chat``) → form check → question judge → answer → form check →
pair judge. A grounded skill first writes new contexts like the seed contexts, then questions
answerable from each context alone, and goes through the same judges with the context.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from typing import Any

from seedtree.generate import fewshot, parse
from seedtree.generate.dedup import Deduper
from seedtree.generate.pipelines import (
    Call,
    Candidate,
    LeafRun,
    Rejection,
    Step,
    accept_samples,
    apply_judge,
    completion_call,
    completion_texts,
    counted,
    dedup_questions,
    judge_call,
    template_values,
    unparsed,
)
from seedtree.teacher.base import TeacherRequest, TeacherResponse


def _pick(run: LeafRun, stage: str, index: int, k: int) -> list[int]:
    seeds = run.leaf.skill_seeds
    rng = random.Random(run.seed(stage, index))
    return sorted(rng.sample(range(len(seeds)), min(k, len(seeds))))


def _question_requests(
    run: LeafRun, stage: str, count: int, contexts: Sequence[str | None]
) -> tuple[list[TeacherRequest], list[tuple[str, ...]]]:
    requests, used = [], []
    for i, context in enumerate(contexts[:count] if contexts else [None] * count):
        picked = _pick(run, stage, i, run.config.seeds_per_prompt)
        examples = [run.leaf.skill_seeds[j].question for j in picked]
        values: dict[str, Any] = {"task_description": run.leaf.task_description}
        values.update(examples=examples, count=run.config.questions_per_prompt)
        if context is not None:
            values["context"] = context
        requests.append(run.chat(stage, stage, i, **values))
        used.append(tuple(f"seed:{j}" for j in picked))
    return requests, used


def _candidates(
    run: LeafRun,
    texts: Sequence[str],
    used: Sequence[tuple[str, ...]],
    contexts: Sequence[str | None],
) -> list[Candidate]:
    cands: list[Candidate] = []
    for text, seeds, context in zip(texts, used, contexts, strict=True):
        found = parse.questions(text)[: run.config.questions_per_prompt]
        if not found:
            unparsed(run, text, "parse failure: no question found", seeds, context=context)
        new = [Candidate(q, seeds, context=context) for q in found]
        run.made(new)
        cands.extend(new)
    run.funnel.parsed += len(cands)
    return cands


def _answer_requests(run: LeafRun, cands: Sequence[Candidate]) -> list[TeacherRequest]:
    if run.chat_shots:
        return _chat_answer_requests(run, cands)
    requests = []
    for i, cand in enumerate(cands):
        (j,) = _pick(run, "answer", i, 1)
        seed = run.leaf.skill_seeds[j]
        cand.seed_ids = (*cand.seed_ids, f"seed:{j}")
        values = template_values(run, cand)
        values.update(example_question=seed.question, example_answer=seed.answer)
        requests.append(run.chat("answer", "answer", i, **values))
    return requests


def _answered(
    run: LeafRun, cands: Sequence[Candidate], responses: Sequence[TeacherResponse]
) -> list[Candidate]:
    kept = []
    for cand, text in zip(cands, completion_texts(run, responses), strict=True):
        cand.answer = parse.answer(text)
        if cand.answer is None:
            run.funnel.parse_failures += 1
            cand.raw = text
            run.reject(cand, Rejection("parse failure: empty answer"))
        else:
            kept.append(cand)
    run.funnel.answered = (run.funnel.answered or 0) + len(kept)
    return kept


def _on_form(run: LeafRun, cands: Sequence[Candidate], part: str) -> list[Candidate]:
    """The candidates whose question or answer passes the leaf's form checks (all, in a preview)."""
    kept = []
    for cand in cands:
        text = cand.question if part == "question" else cand.answer or ""
        fault = run.form.question(text) if part == "question" else run.form.answer(text)
        if fault is None:
            kept.append(cand)
        else:
            run.reject(cand, Rejection(fault.reason, detail=fault.detail))
    return list(cands) if run.limits.candidates is not None else kept


def _judge_and_answer(run: LeafRun, cands: list[Candidate]) -> Step:
    """Form → question judge → answer → form → pair judge → accept (freeform and grounded)."""
    cands = _on_form(run, cands, "question")
    if not cands:
        return
    (scores,) = yield [counted(run, judge_call(run, "judge_question", cands))]
    cands = apply_judge(run, "judge_question", cands, scores)
    if not cands:
        return
    template = "chat_answer" if run.chat_shots else "answer"
    requests = _answer_requests(run, cands)
    (responses,) = yield [completion_call(run, "answer", requests, template)]
    cands = _answered(run, cands, responses)
    for cand in cands:
        cand.prompts["answer"] = run.prompts.get(template).tag
    cands = _on_form(run, cands, "answer")
    if not cands:
        return
    (scores,) = yield [counted(run, judge_call(run, "judge_pair", cands))]
    accept_samples(run, apply_judge(run, "judge_pair", cands, scores))


def skill_pipeline(run: LeafRun) -> Step:
    deduper = Deduper(run.config.rouge_threshold)
    deduper.add_seeds([s.question for s in run.leaf.skill_seeds])
    while (size := run.round_size()) > 0:
        run.funnel.attempts += size
        if run.chat_shots:
            cands = yield from _chat_questions(run, size)
        else:
            requests, used = _question_requests(run, "questions", size, [])
            (responses,) = yield [completion_call(run, "questions", requests)]
            texts = completion_texts(run, responses)
            cands = _candidates(run, texts, used, [None] * len(texts))
            _tag(run, cands, "questions")
        yield from _judge_and_answer(run, dedup_questions(run, deduper, cands))
        run.round += 1


def _chat_questions(run: LeafRun, size: int) -> Generator[list[Call], Any, list[Candidate]]:
    """``size`` requests of ``questions_per_prompt`` samples each; a question per sample."""
    task_turn = run.prompts.render("chat_question", task_description=run.leaf.task_description)
    requests, used = [], []
    for i in range(size):
        picked = _pick(run, "questions", i, run.config.seeds_per_prompt)
        examples = [run.leaf.skill_seeds[j].question for j in picked]
        turns = fewshot.question_turns(task_turn, examples)
        requests.append(run.turns("questions", turns, i, n=run.config.questions_per_prompt))
        used.append(tuple(f"seed:{j}" for j in picked))
    (responses,) = yield [completion_call(run, "questions", requests, "chat_question")]
    run.funnel.completions += sum(len(r.completions) for r in responses)
    cands: list[Candidate] = []
    for response, seeds in zip(responses, used, strict=True):
        for completion in response.completions:
            found = fewshot.one_question(completion.text)
            if found is None:
                unparsed(run, completion.text, "parse failure: no question found", seeds)
            else:
                cands.append(Candidate(found, seeds))
                run.made(cands[-1:])
    run.funnel.parsed += len(cands)
    _tag(run, cands, "chat_question")
    return cands


def _chat_answer_requests(run: LeafRun, cands: Sequence[Candidate]) -> list[TeacherRequest]:
    """Each question after ``seeds_per_prompt`` seed Q&A turns (few_shot: chat)."""
    requests = []
    for i, cand in enumerate(cands):
        picked = _pick(run, "answer", i, run.config.seeds_per_prompt)
        cand.seed_ids = (*cand.seed_ids, *(f"seed:{j}" for j in picked))
        pairs = [(run.leaf.skill_seeds[j].question, run.leaf.skill_seeds[j].answer) for j in picked]
        question_turn = run.prompts.render("chat_answer", question=cand.question)
        requests.append(run.turns("answer", fewshot.answer_turns(pairs, question_turn), i))
    return requests


def _tag(run: LeafRun, cands: Sequence[Candidate], name: str) -> None:
    for cand in cands:
        cand.prompts[name] = run.prompts.get(name).tag


# -- grounded skills ------------------------------------------------------------------------------


def _context_requests(run: LeafRun, count: int) -> list[TeacherRequest]:
    requests = []
    for i in range(count):
        picked = _pick(run, "contexts", i, min(2, run.config.seeds_per_prompt))
        examples = [run.leaf.skill_seeds[j].context or "" for j in picked]
        values: dict[str, Any] = {
            "task_description": run.leaf.task_description,
            "examples": examples,
        }
        requests.append(run.chat("contexts", "contexts", i, **values))
    return requests


def _new_contexts(run: LeafRun, texts: Sequence[str], deduper: Deduper) -> list[str]:
    found = []
    for text in texts:
        context = parse.context(text)
        if context is None:
            unparsed(run, text, "parse failure: no context found", ())
        else:
            found.append(context)
    kept = []
    for context, reason in zip(found, deduper.filter(found), strict=True):
        if reason is None:
            kept.append(context)
        else:
            copy = Candidate("", (), context=context)
            run.made([copy])
            run.reject(copy, Rejection(f"context {reason}"))
    run.funnel.contexts = (run.funnel.contexts or 0) + len(kept)
    return kept


def grounded_pipeline(run: LeafRun) -> Step:
    context_dedup = Deduper(run.config.rouge_threshold)
    context_dedup.add_seeds([s.context or "" for s in run.leaf.skill_seeds])
    groups: dict[str, Deduper] = {}
    while (size := run.round_size()) > 0:
        run.funnel.attempts += size
        (responses,) = yield [completion_call(run, "contexts", _context_requests(run, size))]
        contexts = _new_contexts(run, completion_texts(run, responses), context_dedup)
        if not contexts:
            run.round += 1
            continue
        stage = "grounded_questions"
        requests, used = _question_requests(run, stage, len(contexts), contexts)
        (responses,) = yield [completion_call(run, stage, requests)]
        cands = _candidates(run, completion_texts(run, responses), used, list(contexts))
        _tag(run, cands, "contexts")
        _tag(run, cands, stage)
        kept = []
        for cand in cands:
            deduper = groups.setdefault(cand.context or "", Deduper(run.config.rouge_threshold))
            kept.extend(dedup_questions(run, deduper, [cand]))
        yield from _judge_and_answer(run, kept)
        run.round += 1
