"""The training recipe (``training/recipe.yaml``): phases, hyper-parameters and replay.

The whole recipe is validated before any work starts; an invalid one raises a
:class:`~seedtree.errors.ConfigError` naming the file and the field.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seedtree.errors import ConfigError
from seedtree.samples import Sample

Kind = Literal["knowledge", "skill"]
Length = Literal["short", "long"]
# what made a sample (seedtree.samples.SOURCES), and "seeds" for datasets built from the seeds
Source = Literal[
    "document",
    "summary_detailed",
    "summary_extractive",
    "atomic_facts",
    "knowledge_qa",
    "knowledge_raft",
    "skill_qa",
    "seeds",
]
# what a phase trains: every weight, a LoRA adapter, or a LoRA adapter on a 4-bit base (CUDA)
Strategy = Literal["full", "lora", "qlora"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Strict):
    """Which samples a phase (or its replay) takes: all conditions must hold; empty = any."""

    kinds: tuple[Kind, ...] = ()
    lengths: tuple[Length, ...] = ()
    # fnmatch patterns on leaf ids, e.g. "foundational_skills/*"
    leaves: tuple[str, ...] = ()
    # what made the samples: document chunks, the teacher's summaries and atomic facts of them,
    # knowledge Q&A alone or with its chunk and distractor chunks (RAFT), skill Q&A, seeds
    sources: tuple[Source, ...] = ()

    def matches(self, leaf: str, kind: str, length: str | None, source: str | None = None) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        if self.sources and (source or "") not in self.sources:
            return False
        if self.lengths and (length or "short") not in self.lengths:
            return False
        return not self.leaves or any(fnmatch.fnmatchcase(leaf, p) for p in self.leaves)

    def takes(self, sample: Sample) -> bool:
        return self.matches(sample.leaf, sample.kind, sample.length, sample.source)


class ReplaySource(_Strict):
    """Replay ``ratio`` replayed samples per new sample, drawn from the buffer by ``select``."""

    select: Selector = Field(default_factory=Selector)
    ratio: float = Field(ge=0.0, le=10.0)


class LoraSettings(_Strict):
    """A LoRA adapter (Hu et al. 2021): each target weight ``W`` trains as ``W + (alpha/rank)·B·A``.

    Only ``A`` and ``B`` (``rank × in`` and ``out × rank``) are trained; the phase's model is saved
    with the product merged into the weights, and the adapter beside it.
    """

    rank: int = Field(default=16, ge=1, le=4096)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    # names of the linear layers that get an adapter (the last part of a module's name); the
    # default covers attention and MLP of Llama-style models (Llama, Mistral, Qwen, SmolLM2)
    target_modules: tuple[str, ...] = Field(
        default=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        min_length=1,
    )


class PhaseTraining(_Strict):
    """How one phase trains, when it differs from the recipe's ``strategy`` and ``lora``."""

    strategy: Strategy | None = None
    lora: LoraSettings | None = None


class Phase(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    # the new samples a phase trains on: those ``select`` takes, and those any of ``also`` takes
    select: Selector
    also: tuple[Selector, ...] = ()
    # per source, how many times each selected sample of it is taken: 2.0 twice, 0.5 a
    # deterministic half (by sample id); sources left out take each sample once
    ratios: dict[Source, float] = Field(default_factory=dict)
    # extra JSONL files or folders of samples (e.g. foundational skills), relative to the recipe
    datasets: tuple[str, ...] = ()
    epochs: int = Field(default=1, ge=1)
    # the last phase saves this many candidate models, evenly spaced over its steps (None: one
    # at the end of each epoch); the retrain releases the one that scores best on held-out data
    checkpoints: int | None = Field(default=None, ge=1, le=100)
    # repeat the data (more epochs) until the phase has at least this many optimizer steps
    min_steps: int = Field(default=0, ge=0)
    # stop after this many optimizer steps (None: no limit)
    max_steps: int | None = Field(default=None, ge=1)
    lr: float = Field(ge=0.0)
    warmup_steps: int = Field(default=0, ge=0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    # samples per optimizer step, over all ranks (micro-batches are packed to the token budget)
    effective_batch: int = Field(ge=1)
    replay: tuple[ReplaySource, ...] = ()
    # this phase's own strategy and LoRA settings (unset: the recipe's)
    training: PhaseTraining = Field(default_factory=PhaseTraining)

    @model_validator(mode="after")
    def _check_ratios(self) -> Phase:
        bad = {k: v for k, v in self.ratios.items() if not 0.0 <= v <= 100.0}
        if bad:
            raise ValueError(f"ratios must be between 0 and 100, got {bad}")
        return self

    def takes(self, sample: Sample) -> bool:
        return any(s.takes(sample) for s in (self.select, *self.also))

    def weighted(self, samples: Sequence[Sample]) -> list[Sample]:
        """``samples`` with each repeated by its source's ratio: the whole part in copies, the
        fractional part as a share of the samples chosen by a digest of their id."""
        out: list[Sample] = []
        for sample in samples:
            ratio = self.ratios.get(sample.source, 1.0)  # type: ignore[call-overload]
            whole = int(ratio)
            extra = _fraction(f"{self.name}:{sample.id}") < ratio - whole
            out += [sample] * (whole + int(extra))
        return out


def _fraction(key: str) -> float:
    """A stable number in [0, 1) from ``key``."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


class HeldOut(_Strict):
    fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    # at least this many held-out samples per leaf (when the leaf has more than twice as many)
    min_per_leaf: int = Field(default=2, ge=0)


class GeneralData(_Strict):
    """A general dataset (chat, safety, instruction following) mixed into phases, so that a long
    chain of versions keeps what the base model could do. Drawn afresh for every version."""

    # a JSONL file of chat samples, relative to the recipe, or a URL the artifact store reads
    # (file:///..., s3://bucket/key.jsonl)
    path: str = Field(min_length=1)
    # samples drawn per phase, or samples per new sample of the phase (exactly one of the two)
    size: int | None = Field(default=None, ge=1)
    ratio: float | None = Field(default=None, gt=0.0, le=10.0)
    # the phases that draw from it (empty: every phase)
    phases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_amount(self) -> GeneralData:
        if (self.size is None) == (self.ratio is None):
            raise ValueError(f"general dataset {self.path}: give exactly one of size or ratio")
        return self


class Recipe(_Strict):
    seed: int = 42
    # "chat": the student's own chat template; "lab": the Labradorite template
    template: Literal["chat", "lab"] = "chat"
    # replaces each sample's system message (None keeps the sample's own)
    system_prompt: str | None = None
    max_seq_len: int = Field(default=2048, ge=16)
    # tokens per packed micro-batch (one row, padding-free)
    token_budget: int = Field(default=4096, ge=16)
    # bf16 on GPUs; on a CPU training always runs in fp32
    precision: Literal["bf16", "fp32"] = "bf16"
    # recompute each layer's activations in the backward pass instead of keeping them: about a
    # third more compute for a fraction of the activation memory (see `seedtree train --estimate`)
    gradient_checkpointing: bool = False
    # full resumable state every N optimizer steps (0: only at the end of each phase)
    checkpoint_every: int = Field(default=50, ge=0)
    # replay buffer: at most this many samples kept per leaf (reservoir sample)
    replay_per_leaf: int = Field(default=1000, ge=1)
    # general datasets drawn into phases (seedtree.train.general)
    general: tuple[GeneralData, ...] = ()
    heldout: HeldOut = Field(default_factory=HeldOut)
    grad_clip: float | None = Field(default=1.0, gt=0.0)
    phases: tuple[Phase, ...] = Field(min_length=1)
    # full: every weight; lora: a LoRA adapter merged after each phase; qlora: LoRA on a 4-bit
    # base (CUDA and bitsandbytes); auto: the first that fits the devices in that order, with
    # full+offload between full and lora under DeepSpeed (see `seedtree train --estimate`)
    strategy: Literal["full", "lora", "qlora", "auto"] = "full"
    lora: LoraSettings = Field(default_factory=LoraSettings)

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        if self.token_budget < self.max_seq_len:
            raise ValueError(
                f"token_budget ({self.token_budget}) must be at least max_seq_len "
                f"({self.max_seq_len}) so that every kept sample fits in a micro-batch"
            )
        return self

    def strategy_of(self, phase: Phase) -> Strategy:
        """The strategy ``phase`` trains with (``auto`` must have been resolved before)."""
        chosen = phase.training.strategy or self.strategy
        if chosen == "auto":
            raise ValueError("strategy auto is resolved before training (resolve_strategy)")
        return chosen

    def lora_of(self, phase: Phase) -> LoraSettings | None:
        """The LoRA settings of ``phase``; None when it trains every weight."""
        if self.strategy_of(phase) == "full":
            return None
        return phase.training.lora or self.lora

    @model_validator(mode="after")
    def _check_general(self) -> Recipe:
        names = {p.name for p in self.phases}
        unknown = sorted({n for g in self.general for n in g.phases} - names)
        if unknown:
            raise ValueError(f"general datasets name phases the recipe lacks: {unknown}")
        return self

    def digest(self) -> str:
        """A short content hash of the resolved recipe (recorded with every model)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_recipe(path: Path) -> Recipe:
    """Read and validate a recipe file; relative dataset paths are resolved against it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"recipe {path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"recipe {path}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {path}: expected a mapping at the top level")
    for phase in raw.get("phases") or ():
        if isinstance(phase, dict) and phase.get("datasets"):
            phase["datasets"] = [str((path.parent / d).resolve()) for d in phase["datasets"]]
    for general in raw.get("general") or ():
        where = general.get("path") if isinstance(general, dict) else None
        if isinstance(where, str) and "://" not in where:
            general["path"] = str((path.parent / where).resolve())
    return recipe_from_dict(raw, str(path))


def recipe_from_dict(raw: dict[str, object], origin: str = "recipe") -> Recipe:
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{origin}: invalid training recipe"]
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("\n".join(lines), hint="see the README section 'train'") from None
