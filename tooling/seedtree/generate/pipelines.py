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
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from seedtree.config import GenerateConfig
from seedtree.generate import fewshot, parse
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


def _judge_call(run: LeafRun, name: str, cands: Sequence[Candidate]) -> Call:
    requests = tuple(run.judge(name, **_values(run, c)) for c in cands)
    return Call(name, run.prompts.get(name), "score", requests)


def _values(run: LeafRun, cand: Candidate) -> dict[str, Any]:
    return {
        "task_description": run.leaf.task_description,
        "question": cand.question,
        "answer": cand.answer or "",
        "context": cand.context or "",
        "chunk": cand.chunk.text if cand.chunk else "",
    }


def _counted(run: LeafRun, call: Call) -> Call:
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


def _apply_judge(
    run: LeafRun, name: str, cands: Sequence[Candidate], scores: Sequence[LabelScores]
) -> list[Candidate]:
    """The candidates that go on: those the judge passes (all, when the run does not filter)."""
    verdicts = _verdicts(run, name, cands, scores)
    if run.limits.candidates is not None:
        return list(cands)
    return [c for c, ok in zip(cands, verdicts, strict=True) if ok]


def _accept(run: LeafRun, cands: Sequence[Candidate]) -> None:
    room = run.wanted - len(run.accepted)
    run.accepted.extend([c for c in cands if c.rejection is None][:room])
    run.funnel.accepted = len(run.accepted)


def _completion_call(
    run: LeafRun, stage: str, requests: Sequence[TeacherRequest], template: str | None = None
) -> Call:
    run.funnel.prompts_sent += len(requests)
    return Call(stage, run.prompts.get(template or stage), "complete", tuple(requests))


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
            _unparsed(run, text, "parse failure: no question found", seeds, context=context)
        new = [Candidate(q, seeds, context=context) for q in found]
        run.made(new)
        cands.extend(new)
    run.funnel.parsed += len(cands)
    return cands


def _unparsed(run: LeafRun, text: str, reason: str, seeds: tuple[str, ...], **where: Any) -> None:
    """A completion nothing could be parsed from: counted, and kept as a rejected candidate."""
    run.funnel.parse_failures += 1
    failed = Candidate("", seeds, raw=text, **where)
    run.made([failed])
    run.reject(failed, Rejection(reason))


def _answer_requests(run: LeafRun, cands: Sequence[Candidate]) -> list[TeacherRequest]:
    if run.chat_shots:
        return _chat_answer_requests(run, cands)
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
    (scores,) = yield [_counted(run, _judge_call(run, "judge_question", cands))]
    cands = _apply_judge(run, "judge_question", cands, scores)
    if not cands:
        return
    template = "chat_answer" if run.chat_shots else "answer"
    requests = _answer_requests(run, cands)
    (responses,) = yield [_completion_call(run, "answer", requests, template)]
    cands = _answered(run, cands, responses)
    for cand in cands:
        cand.prompts["answer"] = run.prompts.get(template).tag
    cands = _on_form(run, cands, "answer")
    if not cands:
        return
    (scores,) = yield [_counted(run, _judge_call(run, "judge_pair", cands))]
    _accept(run, _apply_judge(run, "judge_pair", cands, scores))


def skill_pipeline(run: LeafRun) -> Step:
    deduper = Deduper(run.config.rouge_threshold)
    deduper.add_seeds([s.question for s in run.leaf.skill_seeds])
    while (size := run.round_size()) > 0:
        run.funnel.attempts += size
        if run.chat_shots:
            cands = yield from _chat_questions(run, size)
        else:
            requests, used = _question_requests(run, "questions", size, [])
            (responses,) = yield [_completion_call(run, "questions", requests)]
            texts = _texts(run, responses)
            cands = _candidates(run, texts, used, [None] * len(texts))
            _tag(run, cands, "questions")
        yield from _judge_and_answer(run, _dedup(run, deduper, cands))
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
    (responses,) = yield [_completion_call(run, "questions", requests, "chat_question")]
    run.funnel.completions += sum(len(r.completions) for r in responses)
    cands: list[Candidate] = []
    for response, seeds in zip(responses, used, strict=True):
        for completion in response.completions:
            found = fewshot.one_question(completion.text)
            if found is None:
                _unparsed(run, completion.text, "parse failure: no question found", seeds)
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
            _unparsed(run, text, "parse failure: no context found", ())
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
            reason = "parse failure: no question/answer pair found"
            _unparsed(run, text, reason, (f"seed:{j}",), chunk=chunk)
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
        call = _completion_call(run, "knowledge_qa", [p[0] for p in planned])
        (responses,) = yield [call]
        cands = _dedup(run, deduper, _qa_candidates(run, planned, _texts(run, responses)))
        if cands:
            calls = [_counted(run, _judge_call(run, name, cands)) for name in KNOWLEDGE_JUDGES]
            answers = yield calls
            _accept(run, _all_judges(run, cands, answers))
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
    (scores,) = yield [_judge_call(run, "judge_faithfulness", judged)]
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


PIPELINES: dict[str, Callable[[LeafRun], Step]] = {
    "skill": skill_pipeline,
    "grounded_skill": grounded_pipeline,
    "knowledge": knowledge_pipeline,
}
