"""General data in every version: chat, safety and instruction-following samples mixed into phases.

Replay keeps the taxonomy's own leaves; a long chain of incremental versions also needs what the
base model could do before any leaf. A recipe names general datasets (``general:``, see
:class:`~seedtree.train.recipe.GeneralData`): JSONL files of chat samples in the repository, or
URLs the artifact store reads. Each phase that takes a dataset draws ``size`` samples from it, or
``ratio`` per new sample of the phase, without replacement, in an order seeded by the recipe's
seed, the version being made, the dataset's content and the phase: a version's draw is the same
on every machine and every resume, the next version draws others.

A draw never holds an evaluation item: a general sample whose question (user turn, compared
without case and spacing) is a seed question, a held-out sample's or a multiple-choice item's is
left out before drawing. Draws are written to ``<out>/general/<phase>.jsonl``; they are trained
on beside the phase's new data and replay, counted by the step planner, never held out and never
offered to the replay buffer (the next version draws afresh).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from seedtree.atomic import write_jsonl
from seedtree.errors import ConfigError, UsageError
from seedtree.samples import Sample, parse_sample, sample_id, sample_record
from seedtree.train.data import read_jsonl
from seedtree.train.recipe import GeneralData, Recipe

# copies the object at a URL (s3://..., file://...) to a local file; the artifact store's reader
Fetch = Callable[[str, Path], None]
PREFIX = "general/"  # the leaf id of a general dataset's samples: general/<file name>
FOLDER = "general"  # draws and fetched copies, under the training output folder


@dataclass(frozen=True)
class GeneralDraw:
    """What the general-data draw of one run takes beyond the recipe."""

    label: str = ""  # the version this run makes (seeds the draw)
    fetch: Fetch | None = None  # reads store URLs; None: local files and file:// URLs only
    avoid: frozenset[str] = frozenset()  # questions never trained on (evaluation items)


@dataclass(frozen=True)
class GeneralSet:
    """One general dataset, read: its samples and the digest of its file."""

    spec: GeneralData
    name: str
    samples: tuple[Sample, ...]
    digest: str


def question_key(text: str) -> str:
    """A question as draws compare it: case and runs of white space ignored."""
    return " ".join(text.split()).casefold()


def _name(path: str) -> str:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last.removesuffix(".jsonl") or "data"


def local_copy(path: str, fetch: Fetch | None, cache: Path) -> Path:
    """The local file of a dataset path: itself, a ``file://`` URL's file, or a fetched copy."""
    if "://" not in path:
        return Path(path)
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if fetch is None:
        raise ConfigError(
            f"general dataset {path}: a store URL, and nothing here reads the store",
            hint="run it through `seedtree retrain` or `seedtree train`, which read the store",
        )
    digest = hashlib.sha256(path.encode()).hexdigest()[:16]
    target = cache / f"{digest}-{_name(path)}.jsonl"
    if not target.is_file():
        fetch(path, target)
    return target


def _turn(messages: list[Any], role: str) -> str | None:
    found = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == role]
    return str(found[-1]) if found else None


def _sample(record: dict[str, Any], where: str, leaf: str) -> Sample:
    messages = record.get("messages")
    turns = (
        [_turn(messages, r) for r in ("user", "assistant")] if isinstance(messages, list) else []
    )
    if len(turns) != 2 or None in turns:
        raise UsageError(
            f"{where}: a general sample needs 'messages' with a user and an assistant turn",
            hint='one JSON object per line: {"messages": [{"role": "user", "content": ...}, ...]}',
        )
    rid = str(record.get("id") or sample_id(leaf, str(turns[0]), str(turns[1])))
    metadata = {"leaf": leaf, "kind": "skill", "general": True}
    return parse_sample({"id": rid, "messages": messages, "metadata": metadata}, where, leaf)


def read_general(spec: GeneralData, fetch: Fetch | None, cache: Path) -> GeneralSet:
    """A general dataset's samples (duplicate ids kept once) and its content digest."""
    file = local_copy(spec.path, fetch, cache)
    if not file.is_file():
        raise ConfigError(
            f"general dataset {spec.path}: no such file", hint="fix general: in the recipe"
        )
    name = _name(spec.path)
    seen: dict[str, Sample] = {}
    for where, record in read_jsonl(file):
        sample = _sample(dict(record), where, PREFIX + name)
        seen.setdefault(sample.id, sample)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    return GeneralSet(spec, name, tuple(sorted(seen.values(), key=lambda s: s.id)), digest)


def wanted(spec: GeneralData, n_new: int) -> int:
    """How many samples a phase with ``n_new`` new samples draws from ``spec``."""
    return spec.size if spec.size is not None else round((spec.ratio or 0.0) * n_new)


def takes(spec: GeneralData, phase: str) -> bool:
    return not spec.phases or phase in spec.phases


@dataclass(frozen=True)
class GeneralMix:
    """A run's general datasets, read, and how they are drawn into its phases."""

    sets: tuple[GeneralSet, ...]
    seed: str  # the recipe's seed and the version being made
    avoid: frozenset[str]  # question keys never drawn
    out: Path  # the folder the draws are written to

    def draw(self, phase: str, n_new: int) -> list[Sample]:
        """The phase's general samples, deterministically drawn (see the module's text)."""
        chosen: list[Sample] = []
        for found in self.sets:
            if not takes(found.spec, phase):
                continue
            pool = [s for s in found.samples if question_key(s.user) not in self.avoid]
            rng = random.Random(f"{self.seed}:{found.digest}:{phase}")
            chosen += rng.sample(pool, min(wanted(found.spec, n_new), len(pool)))
        return chosen

    def write(self, folder: str, samples: Sequence[Sample]) -> Path:
        """The draw of one phase, as JSONL (``folder``: the phase's folder name)."""
        path = self.out / f"{folder}.jsonl"
        write_jsonl(path, [sample_record(s) for s in samples])
        return path


def general_mix(
    recipe: Recipe, draw: GeneralDraw | None, out_dir: Path, questions: Iterable[str]
) -> GeneralMix:
    """The recipe's general datasets, read, with the questions no draw may hold."""
    draw = draw or GeneralDraw()
    out = out_dir / FOLDER
    sets = tuple(read_general(spec, draw.fetch, out / "sources") for spec in recipe.general)
    avoid = frozenset(question_key(q) for q in questions) | {question_key(q) for q in draw.avoid}
    return GeneralMix(sets, f"{recipe.seed}:{draw.label}", avoid, out)


def evaluation_questions(paths: Iterable[Path]) -> frozenset[str]:
    """The questions of multiple-choice item files (JSONL with a ``question`` field)."""
    found = set()
    for path in paths:
        for _where, row in read_jsonl(path):
            if isinstance(row.get("question"), str):
                found.add(str(row["question"]))
    return frozenset(found)


def draw_lines(recipe: Recipe, renderer: Any, fetch: Fetch | None, cache: Path) -> list[str]:
    """What the general data adds, per dataset, for ``seedtree train --estimate``: its samples,
    those too long to train on, and each phase's draw. A micro-batch stays within
    ``token_budget`` whatever is drawn, so the memory per device is the estimate's."""
    lines = []
    for spec in recipe.general:
        found = read_general(spec, fetch, cache)
        rendered = renderer.encode_all(found.samples)
        longest = max((len(e) for e in rendered.encoded), default=0)
        amount = f"{spec.size} samples" if spec.size is not None else f"{spec.ratio} per new sample"
        phases = ", ".join(p.name for p in recipe.phases if takes(spec, p.name))
        lines.append(
            f"general data {found.name}: {len(found.samples)} samples, longest {longest} tokens, "
            f"{sum(rendered.dropped.values())} over max_seq_len ({recipe.max_seq_len}) dropped; "
            f"{amount} drawn in {phases}"
        )
    return lines
