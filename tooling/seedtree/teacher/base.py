"""The one teacher interface every backend satisfies, and the values that cross it.

A backend is a module exposing ``create(config) -> Teacher``; :mod:`seedtree.teacher` lists them
in an explicit dict. Generation, preview and evaluation only ever see :class:`Teacher`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class TeacherRequest:
    """One chat to complete ``n`` times. ``seed`` makes the sampling reproducible per request."""

    messages: tuple[Message, ...]
    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int = 0

    def key(self) -> str:
        """A stable hash of everything that determines the answer (backend id not included)."""
        blob = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop" | "length" | backend-specific
    tokens: int


@dataclass(frozen=True)
class TeacherResponse:
    completions: tuple[Completion, ...]
    prompt_tokens: int


@dataclass(frozen=True)
class ScoreRequest:
    """Score a fixed set of labels as the assistant's next answer to ``messages``."""

    messages: tuple[Message, ...]
    labels: tuple[str, ...]

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LabelScores:
    """Probabilities of each label, normalised over the label set (they sum to 1)."""

    probs: dict[str, float] = field(default_factory=dict)

    @property
    def best(self) -> str:
        return max(self.probs, key=lambda label: self.probs[label])

    @staticmethod
    def from_logprobs(logprobs: dict[str, float]) -> LabelScores:
        """Normalise label log-probabilities (missing labels may be ``-inf``)."""
        top = max(logprobs.values())
        if top == -math.inf:
            share = 1.0 / len(logprobs)
            return LabelScores({label: share for label in logprobs})
        weights = {label: math.exp(lp - top) for label, lp in logprobs.items()}
        total = sum(weights.values())
        return LabelScores({label: w / total for label, w in weights.items()})


OnResult = Callable[[int, TeacherResponse], None]


@runtime_checkable
class Teacher(Protocol):
    """A model that completes chats and scores labels, in batches."""

    @property
    def id(self) -> str:
        """Backend and model identity, part of every cache key (e.g. ``embedded:smollm2-135m``)."""
        ...

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        """Complete every request; call ``on_result(index, response)`` as each one finishes."""
        ...

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        """Probabilities of each request's labels as the next assistant answer."""
        ...

    def close(self) -> None:
        """Release the model or connections."""
        ...
