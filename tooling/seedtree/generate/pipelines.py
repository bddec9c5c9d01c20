"""One pipeline per leaf type, written as a generator of teacher calls: the knowledge pipeline
here, the skill pipelines in :mod:`seedtree.generate.skills`, on the run state and shared steps
defined here.

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

Every candidate a leaf's run makes is kept in ``LeafRun.candidates`` with its judge scores and,
when it is not a sample, its :class:`Rejection` (the first reason, as the funnel counts it). With
:class:`~seedtree.generate.limits.Limits` ``candidates`` set (the preview), judges record their
verdicts without filtering, so each candidate is answered and scored by every judge; acceptance is
decided by the same rule either way.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from seedtree.config import GenerateConfig
from seedtree.generate import parse
from seedtree.generate.chunking import Chunk
from seedtree.generate.dedup import SEED_COPY, Deduper
from seedtree.generate.form import FormCheck
from seedtree.generate.funnel import Funnel
from seedtree.generate.limits import FULL_RUN, Limits
from seedtree.generate.prompts import Prompts, Template
from seedtree.samples import AUGMENTATIONS
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


@dataclass(frozen=True)
class Rejection:
    """Why a candidate is not a sample: the funnel's reason and, for a judge, its score."""

    reason: str  # as the funnel counts it: "judge question", "duplicate", "parse failure: ..."
    judge: str | None = None
    score: float | None = None  # the judge's pass probability
    threshold: float | None = None
    detail: str | None = None  # the measure behind a check that is not a judge

    def describe(self) -> str:
        if self.judge is None or self.score is None or self.threshold is None:
            return f"{self.reason} ({self.detail})" if self.detail else self.reason
        return f"judge {self.judge}: {self.score:.2f} < threshold {self.threshold:g}"


@dataclass
class Candidate:
    question: str  # empty when nothing could be parsed (``raw`` then holds the completion)
    seed_ids: tuple[str, ...]
    context: str | None = None
    chunk: Chunk | None = None
    answer: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    rejection: Rejection | None = None
    raw: str | None = None


@dataclass
class LeafRun:
    """The state of one leaf's generation."""

    leaf: Leaf
    leaf_hash: str
    config: GenerateConfig
    prompts: Prompts
    wanted: int
    chunks: tuple[Chunk, ...] = ()
    limits: Limits = FULL_RUN
    funnel: Funnel = field(default_factory=Funnel)
    accepted: list[Candidate] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # every one made, in order
    augmented: dict[str, list[Candidate]] = field(default_factory=dict)  # kept, per augmentation
    judged: int = 0  # candidates sent to the judges
    round: int = 0

    @cached_property
    def form(self) -> FormCheck:
        seeds = self.leaf.skill_seeds
        questions, answers = [s.question for s in seeds], [s.answer for s in seeds]
        return FormCheck(questions, answers, self.config)

    def __post_init__(self) -> None:
        per = self.config.questions_per_prompt
        self.funnel.wanted = self.wanted
        self.funnel.attempt_cap = math.ceil(self.wanted * self.config.max_attempts_factor / per)

    @property
    def pipeline(self) -> str:
        return self.leaf.kind

    def seed(self, stage: str, index: int, any_round: bool = False) -> int:
        """A request's seed: from the leaf, stage, round (unless ``any_round``) and index."""
        draw = f"{self.config.seed}:" if self.config.seed else ""
        blob = f"{draw}{self.leaf_hash}:{stage}:{'*' if any_round else self.round}:{index}".encode()
        return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little") & 0x7FFFFFFF

    def chat(
        self, stage: str, name: str, index: int, any_round: bool = False, **values: Any
    ) -> TeacherRequest:
        messages = (Message("user", self.prompts.render(name, **values)),)
        return self.turns(stage, messages, index, any_round)

    def turns(
        self,
        stage: str,
        messages: tuple[Message, ...],
        index: int,
        any_round: bool = False,
        n: int = 1,
    ) -> TeacherRequest:
        """A completion request of ``stage`` with these messages, sampled ``n`` times."""
        temperature = self.config.temperature
        if stage == "answer" and self.config.answer_temperature is not None:
            temperature = self.config.answer_temperature
        return TeacherRequest(
            messages=messages,
            n=n,
            temperature=temperature,
            top_p=self.config.top_p,
            max_tokens=self.limits.tokens(stage, self.config.max_tokens),
            seed=self.seed(stage, index, any_round),
        )

    @property
    def chat_shots(self) -> bool:
        """Whether this leaf's seeds reach the teacher as conversation turns (few_shot: chat)."""
        return self.config.few_shot == "chat" and self.pipeline == "skill"

    def judge(self, name: str, **values: Any) -> ScoreRequest:
        template = self.prompts.get(name)
        text = self.prompts.render(name, **values)
        return ScoreRequest(messages=(Message("user", text),), labels=template.labels)

    def round_size(self) -> int:
        """Generation prompts for the next round (0: done)."""
        have, target = self._progress()
        need = target - have
        left = self.funnel.attempt_cap - self.funnel.attempts
        if need <= 0 or left <= 0:
            return 0
        per_prompt = self.config.questions_per_prompt * INITIAL_YIELD
        if self.funnel.attempts:
            per_prompt = max(have / self.funnel.attempts, MIN_YIELD)
        return min(left, max(1, math.ceil(need / per_prompt)))

    def _progress(self) -> tuple[int, int]:
        """What the rounds fill and its target: samples accepted, or candidates judged."""
        if self.limits.candidates is None:
            return len(self.accepted), self.wanted
        return self.judged, self.limits.candidates

    def made(self, cands: Sequence[Candidate]) -> None:
        """Remember new candidates (rejected ones too) in the order they were made."""
        self.candidates.extend(cands)

    def reject(self, cand: Candidate, rejection: Rejection) -> None:
        """Record ``cand``'s first rejection, and count it once in the funnel."""
        if cand.rejection is None:
            cand.rejection = rejection
            self.funnel.reject(rejection.reason)


# -- shared steps ---------------------------------------------------------------------------------


def completion_texts(run: LeafRun, responses: Sequence[TeacherResponse]) -> list[str]:
    texts = [c.text for r in responses for c in r.completions]
    run.funnel.completions += len(texts)
    return texts


def dedup_questions(run: LeafRun, deduper: Deduper, cands: list[Candidate]) -> list[Candidate]:
    kept = []
    for cand, reason in zip(cands, deduper.filter([c.question for c in cands]), strict=True):
        if reason is None:
            kept.append(cand)
        else:
            run.funnel.duplicates += 1
            run.reject(cand, Rejection(reason))
    run.funnel.after_dedup += len(kept)
    return _within_cap(run, kept)


def _within_cap(run: LeafRun, cands: list[Candidate]) -> list[Candidate]:
    """The candidates that go on to the judges: all in a full run, up to the cap otherwise."""
    cap = run.limits.candidates
    room = len(cands) if cap is None else max(0, cap - run.judged)
    for cand in cands[room:]:
        run.reject(cand, Rejection(f"over the cap of {cap} candidates"))
    run.judged += min(room, len(cands))
    return cands[:room]


def judge_call(run: LeafRun, name: str, cands: Sequence[Candidate]) -> Call:
    requests = tuple(run.judge(name, **template_values(run, c)) for c in cands)
    return Call(name, run.prompts.get(name), "score", requests)


def template_values(run: LeafRun, cand: Candidate) -> dict[str, Any]:
    return {
        "task_description": run.leaf.task_description,
        "question": cand.question,
        "answer": cand.answer or "",
        "context": cand.context or "",
        "chunk": cand.chunk.text if cand.chunk else "",
    }


def counted(run: LeafRun, call: Call) -> Call:
    """A judge call of the Q&A, counted in the leaf's funnel."""
    run.funnel.judge_requests += len(call.requests)
    return call


def _scored(
    run: LeafRun, name: str, cands: Sequence[Candidate], scores: Sequence[LabelScores]
) -> list[Rejection | None]:
    """Record each candidate's pass probability; a rejection where it is below the threshold."""
    template = run.prompts.get(name)
    judge = JUDGE_OF[name]
    threshold = run.config.judge_thresholds[judge]
    out: list[Rejection | None] = []
    for cand, score in zip(cands, scores, strict=True):
        passed = sum(score.probs.get(label, 0.0) for label in template.accept)
        cand.scores[judge] = round(passed, 4)
        cand.prompts[name] = template.tag
        if judge == "pair":
            rating = sum(int(k) * v for k, v in score.probs.items() if k.isdigit())
            cand.scores["pair_rating"] = round(rating, 4)
        failed = Rejection(f"judge {judge}", judge, cand.scores[judge], threshold)
        out.append(None if passed >= threshold else failed)
    return out


def _verdicts(
    run: LeafRun, name: str, cands: Sequence[Candidate], scores: Sequence[LabelScores]
) -> list[bool]:
    """Record each candidate's pass probability; True where it reaches the judge's threshold."""
    out = []
    for cand, rejection in zip(cands, _scored(run, name, cands, scores), strict=True):
        out.append(rejection is None)
        if rejection is not None:
            run.reject(cand, rejection)
    run.funnel.passed(JUDGE_OF[name], sum(out))
    return out


def apply_judge(
    run: LeafRun, name: str, cands: Sequence[Candidate], scores: Sequence[LabelScores]
) -> list[Candidate]:
    """The candidates that go on: those the judge passes (all, when the run does not filter)."""
    verdicts = _verdicts(run, name, cands, scores)
    if run.limits.candidates is not None:
        return list(cands)
    return [c for c, ok in zip(cands, verdicts, strict=True) if ok]


def accept_samples(run: LeafRun, cands: Sequence[Candidate]) -> None:
    room = run.wanted - len(run.accepted)
    run.accepted.extend([c for c in cands if c.rejection is None][:room])
    run.funnel.accepted = len(run.accepted)


def completion_call(
    run: LeafRun, stage: str, requests: Sequence[TeacherRequest], template: str | None = None
) -> Call:
    run.funnel.prompts_sent += len(requests)
    return Call(stage, run.prompts.get(template or stage), "complete", tuple(requests))


def unparsed(run: LeafRun, text: str, reason: str, seeds: tuple[str, ...], **where: Any) -> None:
    """A completion nothing could be parsed from: counted, and kept as a rejected candidate."""
    run.funnel.parse_failures += 1
    failed = Candidate("", seeds, raw=text, **where)
    run.made([failed])
    run.reject(failed, Rejection(reason))


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
            reason = "parse failure: no question/answer pair found"
            unparsed(run, text, reason, (f"seed:{j}",), chunk=chunk)
        for pair in pairs:
            cand = Candidate(pair.question, (f"seed:{j}",), chunk=chunk, answer=pair.answer)
            cand.prompts["knowledge_qa"] = run.prompts.get("knowledge_qa").tag
            cands.append(cand)
            run.made([cand])
    run.funnel.parsed += len(cands)
    return cands


def knowledge_pipeline(run: LeafRun) -> Step:
    deduper = Deduper(run.config.rouge_threshold)
    deduper.add_seeds([qa.question for qa in run.leaf.seed_questions])
    while (size := run.round_size()) > 0:
        run.funnel.attempts += size
        planned = _qa_requests(run, size)
        call = completion_call(run, "knowledge_qa", [p[0] for p in planned])
        (responses,) = yield [call]
        cands = dedup_questions(
            run, deduper, _qa_candidates(run, planned, completion_texts(run, responses))
        )
        if cands:
            calls = [counted(run, judge_call(run, name, cands)) for name in KNOWLEDGE_JUDGES]
            answers = yield calls
            accept_samples(run, _all_judges(run, cands, answers))
        run.round += 1
    yield from augment(run)


def _all_judges(
    run: LeafRun, cands: Sequence[Candidate], answers: Sequence[Sequence[LabelScores]]
) -> list[Candidate]:
    """Candidates every judge passes; a rejected one counts under the first judge it failed."""
    for name, scores in zip(KNOWLEDGE_JUDGES, answers, strict=True):
        _verdicts(run, name, cands, scores)
    return [c for c in cands if c.rejection is None]


# -- knowledge: the teacher's augmentations of each chunk -----------------------------------------

# what the faithfulness judge is told each augmentation answers
INSTRUCTIONS = {
    "summary_detailed": "Write a detailed summary of the document.",
    "summary_extractive": "Write an extractive summary of the document.",
    "atomic_facts": "List the atomic facts the document states.",
}


def augmented_chunks(chunks: Sequence[Chunk], most: int | None) -> tuple[Chunk, ...]:
    """At most ``most`` of ``chunks``, spread evenly from the first to the last."""
    if most is None or len(chunks) <= most:
        return tuple(chunks)
    if most == 1:
        return (chunks[0],)
    picks = sorted({round(i * (len(chunks) - 1) / (most - 1)) for i in range(most)})
    return tuple(chunks[i] for i in picks)


def seed_pairs(run: LeafRun) -> list[str]:
    """The leaf's seed Q&A pairs as texts: what no sample may copy."""
    return [f"{qa.question}\n{qa.answer}" for qa in run.leaf.seed_questions]


def augmentation_text(kind: str, text: str) -> str | None:
    """The sample text of a teacher's augmentation (None: nothing usable in it)."""
    if kind == "atomic_facts":
        found = parse.facts(text)
        return "\n".join(f"- {fact}" for fact in found) if found else None
    return parse.summary(text)


def _augmentation_calls(run: LeafRun, kinds: Sequence[str], chunks: Sequence[Chunk]) -> list[Call]:
    calls = []
    for kind in kinds:
        domain = run.leaf.domain or ""
        requests = [
            run.chat(kind, kind, i, any_round=True, domain=domain, chunk=c.text)
            for i, c in enumerate(chunks)
        ]
        counts = run.funnel.source(kind)
        counts.asked += len(requests)
        counts.passed_faithfulness = counts.passed_faithfulness or 0
        calls.append(Call(kind, run.prompts.get(kind), "complete", tuple(requests)))
    return calls


def _augmentations(
    run: LeafRun, calls: Sequence[Call], chunks: Sequence[Chunk], answers: Sequence[list[Any]]
) -> list[tuple[str, Candidate]]:
    """Parsed augmentations, in order of kind then chunk, without near-duplicates or seed copies."""
    deduper = Deduper(run.config.rouge_threshold)
    deduper.add_seeds(seed_pairs(run))
    out = []
    for call, responses in zip(calls, answers, strict=True):
        counts = run.funnel.source(call.stage)
        for chunk, response in zip(chunks, responses, strict=True):
            text = augmentation_text(call.stage, response.completions[0].text)
            if text is None:
                counts.parse_failures += 1
                counts.reject("parse failure: nothing usable")
                continue
            counts.made += 1
            cand = Candidate(INSTRUCTIONS[call.stage], (), chunk=chunk, answer=text)
            cand.prompts[call.stage] = call.template.tag
            (reason,) = deduper.filter([text])
            if reason is None:
                out.append((call.stage, cand))
            else:
                counts.duplicates += 1
                counts.reject(reason if reason == SEED_COPY else "duplicate")
    return out


def augment(run: LeafRun) -> Step:
    """Each chosen chunk's augmentations: ask, parse, de-duplicate, judge faithfulness.

    After the Q&A rounds (the requests' seeds do not depend on how many there were); a preview
    makes none."""
    kinds = [k for k in AUGMENTATIONS if k in run.config.knowledge_sources]
    if not kinds or not run.chunks or run.limits.candidates is not None:
        return
    chunks = augmented_chunks(run.chunks, run.config.augmented_chunks)
    calls = _augmentation_calls(run, kinds, chunks)
    made = _augmentations(run, calls, chunks, (yield calls))
    if not made:
        return
    judged = [cand for _, cand in made]
    (scores,) = yield [judge_call(run, "judge_faithfulness", judged)]
    for (kind, cand), rejection in zip(
        made, _scored(run, "judge_faithfulness", judged, scores), strict=True
    ):
        counts = run.funnel.source(kind)
        if rejection is not None:
            cand.rejection = rejection
            counts.reject(rejection.reason)
            continue
        counts.passed_faithfulness = (counts.passed_faithfulness or 0) + 1
        counts.samples += 1
        run.augmented.setdefault(kind, []).append(cand)
