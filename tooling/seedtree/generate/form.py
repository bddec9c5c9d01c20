"""Form checks of skill candidates, measured against the leaf's own seeds, without the teacher.

A small teacher drifts: asked for antonym tasks, SmolLM2-135M also writes "Make lists of tasks."
or "How to make a glass of scotch", and answers some tasks with a loop ("The example answer is
"The example answer is ..."). Its judges cannot tell (its pair judge passed that loop at 0.82).
Two checks catch both without a model:

- **Seed likeness**: the ROUGE-L F1 of a question (answer) with the nearest seed question
  (answer) of the leaf, against the seeds' own: the likeness of the least typical seed to its
  nearest other seed. A leaf of alike seeds ("What is the antonym of ...?") asks for more than a
  leaf of varied ones (haiku answers, whose nearest seeds share a sixth of their words). Below
  ``generate.min_seed_likeness`` times the seeds' own, the candidate has left the skill's form.
  Near-duplicates of a seed are removed earlier at ``rouge_threshold``, so what is kept lies
  between the two: the seeds' form with new content. Off by default: a capable teacher's
  variety is worth more than its likeness.
- **Repetition**: the share of an answer's word 4-grams that repeat an earlier 4-gram of the same
  answer. Above ``generate.max_repetition`` the answer is a loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seedtree.config import GenerateConfig
from seedtree.generate.dedup import rouge_l, tokens

NGRAM = 4
MIN_NGRAMS = 8  # shorter answers are not judged for repetition: too few 4-grams to tell
OFF_FORM = "off the seeds' form"
REPETITIVE = "repetitive answer"


def seed_likeness(text: str, seeds: Sequence[Sequence[str]]) -> float:
    """ROUGE-L F1 of ``text`` with the nearest of ``seeds`` (token lists); 0.0 without seeds."""
    words = tokens(text)
    return max((rouge_l(words, seed) for seed in seeds), default=0.0)


def own_likeness(seeds: Sequence[Sequence[str]]) -> float:
    """The least likeness of a seed to its nearest other seed (0.0 with fewer than two)."""
    nearest = [
        max(rouge_l(seed, other) for j, other in enumerate(seeds) if j != i)
        for i, seed in enumerate(seeds)
        if len(seeds) > 1
    ]
    return min(nearest, default=0.0)


def repetition(text: str) -> float:
    """Share of the word 4-grams of ``text`` that repeat an earlier one (0.0: too short to tell)."""
    words = tokens(text)
    grams = [tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]
    if len(grams) < MIN_NGRAMS:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


@dataclass(frozen=True)
class FormFault:
    """Why a candidate fails a form check: the funnel's reason and the measure behind it."""

    reason: str
    detail: str


class FormCheck:
    """The form checks of one skill leaf, from its seeds and ``generate`` settings."""

    def __init__(
        self, questions: Sequence[str], answers: Sequence[str], config: GenerateConfig
    ) -> None:
        self._seeds = {
            "question": [tokens(q) for q in questions],
            "answer": [tokens(a) for a in answers],
        }
        self._own = {part: own_likeness(seeds) for part, seeds in self._seeds.items()}
        self._share = config.min_seed_likeness
        self._max_repetition = config.max_repetition

    def question(self, text: str) -> FormFault | None:
        return self._likeness("question", text)

    def answer(self, text: str) -> FormFault | None:
        share = repetition(text)
        if share > self._max_repetition:
            detail = f"{share:.0%} of its 4-grams repeat, above {self._max_repetition:.0%}"
            return FormFault(REPETITIVE, detail)
        return self._likeness("answer", text)

    def floor(self, part: str) -> float:
        """The least seed likeness a ``part`` must reach (0.0: the check is off)."""
        return self._share.get(part, 0.0) * self._own[part]

    def _likeness(self, part: str, text: str) -> FormFault | None:
        least = self.floor(part)
        if least <= 0.0:
            return None
        score = seed_likeness(text, self._seeds[part])
        if score >= least:
            return None
        share, own = self._share[part], self._own[part]
        detail = (
            f"ROUGE-L {score:.2f} with the nearest seed {part}, below {least:.2f} "
            f"({share:g} of the seeds' own {own:.2f})"
        )
        return FormFault(f"{OFF_FORM}: {part}", detail)
