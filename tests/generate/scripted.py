"""A scripted teacher: answers by rules keyed on the shipped prompts' wording, and counts calls.

Generated texts are random words drawn from each request's own seed, so different requests give
lexically different questions (no accidental near-duplicates) and the same request always gives
the same answer, like a real backend with per-request seeds.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence

from seedtree.teacher.base import (
    Completion,
    LabelScores,
    OnResult,
    ScoreRequest,
    TeacherRequest,
    TeacherResponse,
)

WORDS = [
    "river",
    "mountain",
    "lantern",
    "copper",
    "violet",
    "engine",
    "harbor",
    "meadow",
    "signal",
    "orchard",
    "glacier",
    "thunder",
    "velvet",
    "canyon",
    "compass",
    "ember",
    "falcon",
    "garnet",
    "horizon",
    "island",
    "jasmine",
    "kettle",
    "lagoon",
    "marble",
    "nectar",
    "obsidian",
    "pepper",
    "quartz",
    "raven",
    "saffron",
    "timber",
    "umber",
    "vessel",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
    "anchor",
    "basil",
    "cedar",
    "dune",
    "estuary",
    "fern",
    "grove",
    "heron",
    "iris",
    "juniper",
    "kelp",
    "lichen",
    "maple",
    "nutmeg",
    "oyster",
    "pebble",
    "quill",
    "reed",
    "spruce",
    "thistle",
    "tundra",
    "urchin",
    "valley",
    "walnut",
    "yew",
    "zinnia",
    "acorn",
    "birch",
    "clover",
    "delta",
]

# phrase in the rendered prompt -> stage (first match wins; order matters)
COMPLETE_STAGES = (
    ("Write a detailed summary of this document", "summary_detailed"),
    ("Write an extractive summary of this document", "summary_extractive"),
    ("List the atomic facts this document states", "atomic_facts"),
    ("You write new source texts", "contexts"),
    ("answerable from the text alone", "grounded_questions"),
    ("You write new tasks", "questions"),
    ("Write one new task for this skill", "chat_question"),
    ("Example task:", "answer"),
    ("Example document:", "knowledge_qa"),
)
SCORE_STAGES = (
    ("Reply 1 for yes or 0 for no", "judge_question"),
    ("Reply with 1, 2 or 3", "judge_pair"),
    ("supported by the document", "judge_faithfulness"),
    ("address the question directly", "judge_relevancy"),
    ("clear, specific question", "judge_knowledge_question"),
    ("safe or unsafe", "judge_safety"),
)

Writer = Callable[[str, random.Random], str]
Scorer = Callable[[str, tuple[str, ...]], dict[str, float]]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def numbered_questions(prompt: str, rng: random.Random) -> str:
    return "\n".join(f"{i}. Explain {words(rng, 7)}?" for i in range(1, 6))


def context_text(prompt: str, rng: random.Random) -> str:
    return f"<context>\n{words(rng, 30)}\n</context>"


def one_task(prompt: str, rng: random.Random) -> str:
    return f"Explain {words(rng, 7)}?"


def answer_text(prompt: str, rng: random.Random) -> str:
    return f"The answer is {words(rng, 12)}."


def qa_text(prompt: str, rng: random.Random) -> str:
    long = "detailed paragraph" in prompt
    return "\n".join(
        f"Question: What about {words(rng, 6)}?\nAnswer: It is {words(rng, 70 if long else 8)}."
        for _ in range(5)
    )


def summary_text(prompt: str, rng: random.Random) -> str:
    return f"Summary: The document says {words(rng, 40)}."


def facts_text(prompt: str, rng: random.Random) -> str:
    return "\n".join(f"- The {words(rng, 2)} is {words(rng, 6)}." for _ in range(4))


def yes(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    """Everything passes: all mass on the first label (the shipped prompts list 'pass' first)."""
    if labels == ("1", "2", "3"):
        return {"1": 0.05, "2": 0.15, "3": 0.8}
    return {
        label: (0.9 if i == 0 else 0.1 / max(1, len(labels) - 1)) for i, label in enumerate(labels)
    }


def no(prompt: str, labels: tuple[str, ...]) -> dict[str, float]:
    if labels == ("1", "2", "3"):
        return {"1": 0.9, "2": 0.05, "3": 0.05}
    return {
        label: (0.1 if i == 0 else 0.9 / max(1, len(labels) - 1)) for i, label in enumerate(labels)
    }


DEFAULT_WRITERS: dict[str, Writer] = {
    "contexts": context_text,
    "grounded_questions": numbered_questions,
    "questions": numbered_questions,
    "answer": answer_text,
    "chat_question": one_task,
    "chat_answer": answer_text,
    "knowledge_qa": qa_text,
    "summary_detailed": summary_text,
    "summary_extractive": summary_text,
    "atomic_facts": facts_text,
}


def stage_of(prompt: str, table: Sequence[tuple[str, str]]) -> str:
    for phrase, stage in table:
        if phrase in prompt:
            return stage
    raise AssertionError(f"scripted teacher: no rule for prompt {prompt[:200]!r}")


def request_stage(request: TeacherRequest) -> str:
    """The stage of a completion request; a question after seed turns is a chat answer."""
    last = request.messages[-1].content
    after_turns = len(request.messages) > 1 and request.messages[-2].role == "assistant"
    if after_turns and not any(phrase in last for phrase, _ in COMPLETE_STAGES):
        return "chat_answer"
    return stage_of(last, COMPLETE_STAGES)


class ScriptedTeacher:
    """A Teacher answering by rules; ``calls`` counts requests answered per stage."""

    def __init__(
        self,
        writers: dict[str, Writer] | None = None,
        scorers: dict[str, Scorer] | None = None,
        delay: float = 0.0,
        name: str = "scripted",
        slow: frozenset[str] = frozenset(),
    ) -> None:
        self.writers = {**DEFAULT_WRITERS, **(writers or {})}
        self.scorers = scorers or {}
        self.delay = delay
        self.slow = slow  # completion stages the delay applies to (empty: every request)
        self.name = name
        self.calls: Counter[str] = Counter()
        self.batches: list[int] = []
        self.prompts: list[str] = []

    @property
    def id(self) -> str:
        return f"scripted:{self.name}"

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def _one(self, request: TeacherRequest) -> TeacherResponse:
        prompt = request.messages[-1].content
        stage = request_stage(request)
        self.calls[stage] += 1
        self.prompts.append(prompt)
        completions = []
        for k in range(request.n):
            text = self.writers[stage](prompt, random.Random(f"{request.seed}:{k}:{prompt}"))
            completions.append(Completion(text, "stop", len(text.split())))
        return TeacherResponse(tuple(completions), len(prompt.split()))

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        self.batches.append(len(requests))
        out = []
        for index, request in enumerate(requests):
            stage = request_stage(request)
            if self.delay and (not self.slow or stage in self.slow):
                time.sleep(self.delay)
            response = self._one(request)
            if on_result is not None:
                on_result(index, response)
            out.append(response)
        return out

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        self.batches.append(len(requests))
        out = []
        for request in requests:
            if self.delay and not self.slow:
                time.sleep(self.delay)
            prompt = request.messages[-1].content
            stage = stage_of(prompt, SCORE_STAGES)
            self.calls[stage] += 1
            probs = self.scorers.get(stage, yes)(prompt, request.labels)
            out.append(LabelScores(probs))
        return out

    def close(self) -> None:
        pass
