"""Teacher-written multiple-choice questions from a knowledge leaf's documents (branch items).

As InstructLab's MMLU-branch: the teacher reads a chunk of the leaf's documents and writes
questions with four options and the letter of the right one (``prompts/mcq.j2``, versioned). A
tolerant parser reads what a small model writes; the generation pipeline's judges keep a question
only when the chunk answers it (``judge_knowledge_question``) and its right option is faithful to
the chunk (``judge_faithfulness``), at ``generate.judge_thresholds``; a question that repeats a
training sample's or a seed's question (ROUGE-L at ``generate.rouge_threshold``) is dropped, so
the items stay held out. Options are put back in an order fixed by the question, so a teacher
that always puts the right answer first does not make "A" the right pick.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from seedtree.config import GenerateConfig
from seedtree.evaluation.choices import TEACHER, Choice, item_id, shuffled
from seedtree.evaluation.teacher_calls import CachedTeacher
from seedtree.generate.chunking import Chunk
from seedtree.generate.dedup import Deduper
from seedtree.generate.prompts import Prompts
from seedtree.teacher.base import Message, ScoreRequest, TeacherRequest

TEMPLATE = "mcq"
PER_PROMPT = 4
LETTERS = "ABCD"
_QUESTION = re.compile(
    r"^\s*(?:\*\*)?(?:\d{1,3}\s*[.)]\s*)?(?:question|q)\s*\d{0,3}\s*[:.)]\s*(?:\*\*)?\s*(.*)$",
    re.IGNORECASE,
)
_OPTION = re.compile(r"^\s*(?:\*\*)?[(\[]?([A-Da-d])\s*[.):\]]\s*(?:\*\*)?\s*(\S.*)$")
_ANSWER = re.compile(
    r"^\s*(?:\*\*)?(?:the\s+)?(?:correct\s+)?answer(?:\s+is)?\s*[:.\-]?\s*(?:\*\*)?\s*(.*)$",
    re.IGNORECASE,
)
_LETTER = re.compile(r"^[(\[]?([A-Da-d])(?:[.):\]\s]|$)")


@dataclass(frozen=True)
class Parsed:
    question: str
    options: tuple[str, ...]
    answer: int


def _clean(text: str) -> str:
    return " ".join(text.replace("**", "").split()).strip(" \"'")


def _answer_index(text: str, options: Sequence[str]) -> int | None:
    """The option an answer line names: by its letter, or by the option's own text."""
    text = _clean(text)
    letter = _LETTER.match(text)
    if letter and LETTERS.index(letter.group(1).upper()) < len(options):
        return LETTERS.index(letter.group(1).upper())
    lowered = [o.lower() for o in options]
    return lowered.index(text.lower()) if text.lower() in lowered else None


def _finish(question: str, options: list[str], answer: str | None) -> Parsed | None:
    unique = list(dict.fromkeys(options))
    if len(question.split()) < 3 or len(unique) != len(options) or len(options) < 2:
        return None
    index = _answer_index(answer, options) if answer is not None else None
    return Parsed(question, tuple(options), index) if index is not None else None


def parse_mcqs(text: str) -> list[Parsed]:
    """Every complete question in ``text`` (a question line, lettered options, an answer line);
    anything else is skipped, never an error."""
    found: list[Parsed] = []
    question: str | None = None
    options: list[str] = []
    for line in text.splitlines():
        if (q := _QUESTION.match(line)) and q.group(1).strip():
            question, options = _clean(q.group(1)), []
        elif question is not None and (opt := _OPTION.match(line)):
            if LETTERS.index(opt.group(1).upper()) == len(options):
                options.append(_clean(opt.group(2)))
        elif question is not None and (ans := _ANSWER.match(line)):
            parsed = _finish(question, options, ans.group(1))
            found += [parsed] if parsed else []
            question, options = None, []
    return found


def _seed(leaf_hash: str, index: int) -> int:
    digest = hashlib.sha256(f"{leaf_hash}:mcq:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _chosen_chunks(chunks: Sequence[Chunk], wanted: int) -> list[Chunk]:
    """Enough chunks, spread over the documents, for about twice the questions wanted."""
    count = min(len(chunks), math.ceil(2 * wanted / PER_PROMPT))
    if count <= 0:
        return []
    step = len(chunks) / count
    return [chunks[int(i * step)] for i in range(count)]


@dataclass(frozen=True)
class LeafSource:
    """What a knowledge leaf's questions are written from, and what they must not repeat."""

    leaf: str
    leaf_hash: str
    chunks: tuple[Chunk, ...]
    trained: tuple[str, ...]  # questions of the leaf's training samples and its seeds


def _written(
    teacher: CachedTeacher, prompts: Prompts, config: GenerateConfig, source: LeafSource, n: int
) -> list[tuple[Chunk, Parsed]]:
    chunks = _chosen_chunks(source.chunks, n)
    requests = [
        TeacherRequest(
            messages=(Message("user", prompts.render(TEMPLATE, chunk=c.text, count=PER_PROMPT)),),
            temperature=config.temperature,
            top_p=config.top_p,
            max_tokens=config.max_tokens * 2,
            seed=_seed(source.leaf_hash, i),
        )
        for i, c in enumerate(chunks)
    ]
    hashes = [source.leaf_hash] * len(requests)
    answers = teacher.complete(hashes, TEMPLATE, prompts.get(TEMPLATE), requests)
    return [
        (chunk, parsed)
        for chunk, answer in zip(chunks, answers, strict=True)
        for completion in answer.completions
        for parsed in parse_mcqs(completion.text)
    ]


def _judged(
    teacher: CachedTeacher,
    prompts: Prompts,
    config: GenerateConfig,
    leaf_hash: str,
    found: Sequence[tuple[Chunk, Parsed]],
) -> list[bool]:
    """Whether each question passes both judges."""
    passed = [True] * len(found)
    for name, judge in (
        ("judge_knowledge_question", "knowledge_question"),
        ("judge_faithfulness", "faithfulness"),
    ):
        template = prompts.get(name)
        requests = [
            ScoreRequest(
                messages=(
                    Message(
                        "user",
                        prompts.render(
                            name, chunk=c.text, question=p.question, answer=p.options[p.answer]
                        ),
                    ),
                ),
                labels=template.labels,
            )
            for c, p in found
        ]
        scores = teacher.score([leaf_hash] * len(requests), name, template, requests)
        threshold = config.judge_thresholds[judge]
        for i, s in enumerate(scores):
            passed[i] &= sum(s.probs.get(label, 0.0) for label in template.accept) >= threshold
    return passed


def write_mcqs(
    teacher: CachedTeacher,
    prompts: Prompts,
    config: GenerateConfig,
    source: LeafSource,
    wanted: int,
) -> list[Choice]:
    """Up to ``wanted`` judged, de-duplicated multiple-choice items of one knowledge leaf."""
    if wanted <= 0 or not source.chunks:
        return []
    found = _written(teacher, prompts, config, source, wanted)
    deduper = Deduper(config.rouge_threshold)
    deduper.add_seeds(list(source.trained))
    fresh = deduper.filter([p.question for _, p in found])
    found = [pair for pair, why in zip(found, fresh, strict=True) if why is None]
    verdicts = _judged(teacher, prompts, config, source.leaf_hash, found) if found else []
    kept = [pair for pair, ok in zip(found, verdicts, strict=True) if ok]
    items = []
    for chunk, parsed in kept[:wanted]:
        right = parsed.options[parsed.answer]
        wrong = [o for n, o in enumerate(parsed.options) if n != parsed.answer]
        options, index = shuffled(source.leaf, parsed.question, right, wrong)
        items.append(
            Choice(
                id=item_id(source.leaf, TEACHER, parsed.question),
                leaf=source.leaf,
                source=TEACHER,
                question=parsed.question,
                options=tuple(options),
                answer=index,
                chunk=chunk.id,
            )
        )
    return items
