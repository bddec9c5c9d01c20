"""One pipeline per leaf type, written as a generator of teacher calls.

A pipeline yields a list of :class:`Call` (the teacher requests of one step, each tagged with its
stage and template) and receives their answers in the same order; it never talks to the teacher
itself. The executor runs every leaf's pipeline in lockstep and sends the requests of one step
for all leaves together, so the teacher stays busy across leaves, and looks answers up in the
store first. Everything a pipeline asks depends only on the leaf, the configuration and earlier
answers, and each request carries its own seed: the same inputs give the same requests, which
is what makes the store's answers reusable after an interruption.

Rounds: each round asks for enough generation prompts to fill the leaf's remaining need, sized by
the yield observed in earlier rounds, and stops at ``samples`` accepted or at the attempt cap.
In-context examples always come from the leaf being generated.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from seedtree.config import GenerateConfig
from seedtree.generate import parse
from seedtree.generate.chunking import Chunk
from seedtree.generate.dedup import Deduper
from seedtree.generate.funnel import Funnel
from seedtree.generate.prompts import Prompts, Template
from seedtree.taxonomy.leaves import Leaf
from seedtree.teacher.base import (
    LabelScores,
    Message,
    ScoreRequest,
    TeacherRequest,
    TeacherResponse,
)

JUDGE_OF = {
    "judge_question": "question",
    "judge_pair": "pair",
    "judge_faithfulness": "faithfulness",
    "judge_relevancy": "relevancy",
    "judge_knowledge_question": "knowledge_question",
    "judge_safety": "safety",
}
INITIAL_YIELD = 0.5  # accepted candidates per candidate assumed before a leaf's first round
MIN_YIELD = 0.05


@dataclass(frozen=True)
class Call:
    stage: str
    template: Template
    kind: Literal["complete", "score"]
    requests: tuple[TeacherRequest, ...] | tuple[ScoreRequest, ...]


Step = Generator[list[Call], list[list[Any]], None]


@dataclass
class Candidate:
    question: str
    seed_ids: tuple[str, ...]
    context: str | None = None
    chunk: Chunk | None = None
    answer: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)


@dataclass
class LeafRun:
    """The state of one leaf's generation."""

    leaf: Leaf
    leaf_hash: str
    config: GenerateConfig
    prompts: Prompts
    wanted: int
    chunks: tuple[Chunk, ...] = ()
    funnel: Funnel = field(default_factory=Funnel)
    accepted: list[Candidate] = field(default_factory=list)
    round: int = 0

    def __post_init__(self) -> None:
        per = self.config.questions_per_prompt
        self.funnel.wanted = self.wanted
        self.funnel.attempt_cap = math.ceil(self.wanted * self.config.max_attempts_factor / per)

    @property
    def pipeline(self) -> str:
        return self.leaf.kind

    def seed(self, stage: str, index: int) -> int:
        blob = f"{self.leaf_hash}:{stage}:{self.round}:{index}".encode()
        return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little") & 0x7FFFFFFF

    def chat(self, stage: str, name: str, index: int, **values: Any) -> TeacherRequest:
        return TeacherRequest(
            messages=(Message("user", self.prompts.render(name, **values)),),
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            max_tokens=self.config.max_tokens,
            seed=self.seed(stage, index),
        )

    def judge(self, name: str, **values: Any) -> ScoreRequest:
        template = self.prompts.get(name)
        text = self.prompts.render(name, **values)
        return ScoreRequest(messages=(Message("user", text),), labels=template.labels)

    def round_size(self) -> int:
        """Generation prompts for the next round (0: done)."""
        need = self.wanted - len(self.accepted)
        left = self.funnel.attempt_cap - self.funnel.attempts
        if need <= 0 or left <= 0:
            return 0
        per_prompt = self.config.questions_per_prompt * INITIAL_YIELD
        if self.funnel.attempts:
            per_prompt = max(len(self.accepted) / self.funnel.attempts, MIN_YIELD)
        return min(left, max(1, math.ceil(need / per_prompt)))


# -- shared steps ---------------------------------------------------------------------------------


def _texts(run: LeafRun, responses: Sequence[TeacherResponse]) -> list[str]:
    texts = [c.text for r in responses for c in r.completions]
    run.funnel.completions += len(texts)
    return texts


def _dedup(run: LeafRun, deduper: Deduper, cands: list[Candidate]) -> list[Candidate]:
    kept = []
    for cand, reason in zip(cands, deduper.filter([c.question for c in cands]), strict=True):
        if reason is None:
            kept.append(cand)
        else:
            run.funnel.duplicates += 1
            run.funnel.reject(reason)
    run.funnel.after_dedup += len(kept)
    return kept


def _judge_call(run: LeafRun, name: str, cands: Sequence[Candidate], **extra: Any) -> Call:
    requests = tuple(run.judge(name, **_values(run, c), **extra) for c in cands)
    run.funnel.judge_requests += len(requests)
    return Call(name, run.prompts.get(name), "score", requests)


def _values(run: LeafRun, cand: Candidate) -> dict[str, Any]:
    return {
        "task_description": run.leaf.task_description,
        "question": cand.question,
        "answer": cand.answer or "",
        "context": cand.context or "",
        "chunk": cand.chunk.text if cand.chunk else "",
    }


def _verdicts(
    run: LeafRun, name: str, cands: Sequence[Candidate], scores: Sequence[LabelScores]
) -> list[bool]:
    """Record each candidate's pass probability; True where it reaches the judge's threshold."""
    template = run.prompts.get(name)
    judge = JUDGE_OF[name]
    threshold = run.config.judge_thresholds[judge]
    out = []
    for cand, score in zip(cands, scores, strict=True):
        passed = sum(score.probs.get(label, 0.0) for label in template.accept)
        cand.scores[judge] = round(passed, 4)
        cand.prompts[name] = template.tag
        if judge == "pair":
            rating = sum(int(k) * v for k, v in score.probs.items() if k.isdigit())
            cand.scores["pair_rating"] = round(rating, 4)
        out.append(passed >= threshold)
    run.funnel.passed(judge, sum(out))
    return out


def _apply_judge(
    run: LeafRun, name: str, cands: Sequence[Candidate], scores: Sequence[LabelScores]
) -> list[Candidate]:
    verdicts = _verdicts(run, name, cands, scores)
    run.funnel.reject(f"judge {JUDGE_OF[name]}", verdicts.count(False))
    return [c for c, ok in zip(cands, verdicts, strict=True) if ok]


def _accept(run: LeafRun, cands: Sequence[Candidate]) -> None:
    room = run.wanted - len(run.accepted)
    run.accepted.extend(cands[:room])
    run.funnel.accepted = len(run.accepted)


def _completion_call(run: LeafRun, stage: str, requests: Sequence[TeacherRequest]) -> Call:
    run.funnel.prompts_sent += len(requests)
    return Call(stage, run.prompts.get(stage), "complete", tuple(requests))


# -- skills ---------------------------------------------------------------------------------------


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
            run.funnel.parse_failures += 1
            run.funnel.reject("parse failure: no question found")
        cands.extend(Candidate(q, seeds, context=context) for q in found)
    run.funnel.parsed += len(cands)
    return cands


def _answer_requests(run: LeafRun, cands: Sequence[Candidate]) -> list[TeacherRequest]:
    requests = []
    for i, cand in enumerate(cands):
        (j,) = _pick(run, "answer", i, 1)
        seed = run.leaf.skill_seeds[j]
        cand.seed_ids = (*cand.seed_ids, f"seed:{j}")
        values = _values(run, cand)
        values.update(example_question=seed.question, example_answer=seed.answer)
        requests.append(run.chat("answer", "answer", i, **values))
    return requests


def _answered(
    run: LeafRun, cands: Sequence[Candidate], responses: Sequence[TeacherResponse]
) -> list[Candidate]:
    kept = []
    for cand, text in zip(cands, _texts(run, responses), strict=True):
        cand.answer = parse.answer(text)
        if cand.answer is None:
            run.funnel.parse_failures += 1
            run.funnel.reject("parse failure: empty answer")
        else:
            kept.append(cand)
    run.funnel.answered = (run.funnel.answered or 0) + len(kept)
    return kept


def _judge_and_answer(run: LeafRun, cands: list[Candidate]) -> Step:
    """Question judge → answer → pair judge → accept (freeform and grounded skills)."""
    if not cands:
        return
    (scores,) = yield [_judge_call(run, "judge_question", cands)]
    cands = _apply_judge(run, "judge_question", cands, scores)
    if not cands:
        return
    (responses,) = yield [_completion_call(run, "answer", _answer_requests(run, cands))]
    cands = _answered(run, cands, responses)
    for cand in cands:
        cand.prompts["answer"] = run.prompts.get("answer").tag
    if not cands:
        return
    (scores,) = yield [_judge_call(run, "judge_pair", cands)]
    _accept(run, _apply_judge(run, "judge_pair", cands, scores))


def skill_pipeline(run: LeafRun) -> Step:
    deduper = Deduper(run.config.rouge_threshold)
    deduper.add_seeds([s.question for s in run.leaf.skill_seeds])
    while (size := run.round_size()) > 0:
        run.funnel.attempts += size
        requests, used = _question_requests(run, "questions", size, [])
        (responses,) = yield [_completion_call(run, "questions", requests)]
        texts = _texts(run, responses)
        cands = _candidates(run, texts, used, [None] * len(texts))
        _tag(run, cands, "questions")
        yield from _judge_and_answer(run, _dedup(run, deduper, cands))
        run.round += 1


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
            run.funnel.parse_failures += 1
            run.funnel.reject("parse failure: no context found")
        else:
            found.append(context)
    kept = []
    for context, reason in zip(found, deduper.filter(found), strict=True):
        if reason is None:
            kept.append(context)
        else:
            run.funnel.reject(f"context {reason}")
    run.funnel.contexts = (run.funnel.contexts or 0) + len(kept)
    return kept


def grounded_pipeline(run: LeafRun) -> Step:
    context_dedup = Deduper(run.config.rouge_threshold)
    context_dedup.add_seeds([s.context or "" for s in run.leaf.skill_seeds])
    groups: dict[str, Deduper] = {}
    while (size := run.round_size()) > 0:
        run.funnel.attempts += size
        (responses,) = yield [_completion_call(run, "contexts", _context_requests(run, size))]
        contexts = _new_contexts(run, _texts(run, responses), context_dedup)
        if not contexts:
            run.round += 1
            continue
        stage = "grounded_questions"
        requests, used = _question_requests(run, stage, len(contexts), contexts)
        (responses,) = yield [_completion_call(run, stage, requests)]
        cands = _candidates(run, _texts(run, responses), used, list(contexts))
        _tag(run, cands, "contexts")
        _tag(run, cands, stage)
        kept = []
        for cand in cands:
            deduper = groups.setdefault(cand.context or "", Deduper(run.config.rouge_threshold))
            kept.extend(_dedup(run, deduper, [cand]))
        yield from _judge_and_answer(run, kept)
        run.round += 1


# -- knowledge ------------------------------------------------------------------------------------

KNOWLEDGE_JUDGES = (
    "judge_faithfulness",
    "judge_relevancy",
    "judge_knowledge_question",
    "judge_safety",
)


def _qa_requests(run: LeafRun, count: int) -> list[tuple[TeacherRequest, Chunk, int]]:
    out = []
    seeds = run.leaf.knowledge_seeds
    for i in range(count):
        attempt = run.funnel.attempts - count + i  # over the whole run: chunks in turn
        chunk = run.chunks[attempt % len(run.chunks)]
        j = random.Random(run.seed("knowledge_qa", i)).randrange(len(seeds))
        values: dict[str, Any] = {
            "domain": run.leaf.domain or "",
            "example_context": seeds[j].context,
            "example_qas": seeds[j].qas,
            "chunk": chunk.text,
            "count": run.config.questions_per_prompt,
            "detailed": attempt % 2 == 1,
        }
        out.append((run.chat("knowledge_qa", "knowledge_qa", i, **values), chunk, j))
    return out


def _qa_candidates(
    run: LeafRun, planned: Sequence[tuple[TeacherRequest, Chunk, int]], texts: Sequence[str]
) -> list[Candidate]:
    cands = []
    for (_, chunk, j), text in zip(planned, texts, strict=True):
        pairs = parse.qa_pairs(text)[: run.config.questions_per_prompt]
        if not pairs:
            run.funnel.parse_failures += 1
            run.funnel.reject("parse failure: no question/answer pair found")
        for pair in pairs:
            cand = Candidate(pair.question, (f"seed:{j}",), chunk=chunk, answer=pair.answer)
            cand.prompts["knowledge_qa"] = run.prompts.get("knowledge_qa").tag
            cands.append(cand)
    run.funnel.parsed += len(cands)
    return cands


def knowledge_pipeline(run: LeafRun) -> Step:
    deduper = Deduper(run.config.rouge_threshold)
    deduper.add_seeds([qa.question for qa in run.leaf.seed_questions])
    while (size := run.round_size()) > 0:
        run.funnel.attempts += size
        planned = _qa_requests(run, size)
        call = _completion_call(run, "knowledge_qa", [p[0] for p in planned])
        (responses,) = yield [call]
        cands = _dedup(run, deduper, _qa_candidates(run, planned, _texts(run, responses)))
        if cands:
            answers = yield [_judge_call(run, name, cands) for name in KNOWLEDGE_JUDGES]
            _accept(run, _all_judges(run, cands, answers))
        run.round += 1


def _all_judges(
    run: LeafRun, cands: Sequence[Candidate], answers: Sequence[Sequence[LabelScores]]
) -> list[Candidate]:
    """Candidates every judge passes; a rejected one counts under the first judge it failed."""
    table = [
        _verdicts(run, name, cands, scores)
        for name, scores in zip(KNOWLEDGE_JUDGES, answers, strict=True)
    ]
    kept = []
    for i, cand in enumerate(cands):
        failed = [JUDGE_OF[n] for n, row in zip(KNOWLEDGE_JUDGES, table, strict=True) if not row[i]]
        if failed:
            run.funnel.reject(f"judge {failed[0]}")
        else:
            kept.append(cand)
    return kept


PIPELINES: dict[str, Callable[[LeafRun], Step]] = {
    "skill": skill_pipeline,
    "grounded_skill": grounded_pipeline,
    "knowledge": knowledge_pipeline,
}
