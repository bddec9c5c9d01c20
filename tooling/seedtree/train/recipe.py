"""The training recipe (``training/recipe.yaml``): phases, hyper-parameters and replay.

The whole recipe is validated before any work starts; an invalid one raises a
:class:`~seedtree.errors.ConfigError` naming the file and the field.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seedtree.errors import ConfigError

Kind = Literal["knowledge", "skill"]
Length = Literal["short", "long"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Strict):
    """Which samples a phase (or its replay) takes: all conditions must hold; empty = any."""

    kinds: tuple[Kind, ...] = ()
    lengths: tuple[Length, ...] = ()
    # fnmatch patterns on leaf ids, e.g. "foundational_skills/*"
    leaves: tuple[str, ...] = ()

    def matches(self, leaf: str, kind: str, length: str | None) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        if self.lengths and (length or "short") not in self.lengths:
            return False
        return not self.leaves or any(fnmatch.fnmatchcase(leaf, p) for p in self.leaves)


class ReplaySource(_Strict):
    """Replay ``ratio`` replayed samples per new sample, drawn from the buffer by ``select``."""

    select: Selector = Field(default_factory=Selector)
    ratio: float = Field(ge=0.0, le=10.0)


class Phase(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    select: Selector
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
