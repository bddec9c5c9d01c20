"""What a released version records about itself: the lineage (the message of its tag), the gate
decision it was released on, and the records of releases and pointer moves read from the tags.

Plain records only, importable anywhere: :mod:`seedtree.versions.tags` reads and writes them as
git tags, :mod:`seedtree.versions.artifacts` checks a version's folder against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from seedtree.errors import UsageError

VERSION_PREFIX = "model/v"
LINEAGE_FILE = "lineage.json"
POINTER_PREFIX = "model/current/"
LINEAGE_FORMAT = 1
VERSION_NAME = re.compile(r"^v([1-9][0-9]*)$")


class Interval(BaseModel):
    """A point estimate and its two-sided interval (fractions: 0.031 is 3.1%)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    low: float
    high: float

    def text(self) -> str:
        """``+3.1% [−1.2%, +7.4%]``."""
        return f"{_percent(self.value)} [{_percent(self.low)}, {_percent(self.high)}]"

    def negated(self) -> Interval:
        return Interval(value=-self.value, low=-self.high, high=-self.low)

    def change_words(self) -> str:
        """A change of loss in words whose sign agrees with the figures: ``fell by 1.0%
        (−1.0% [−3.0%, +0.8%])``, ``rose by 2.1% (+2.1% [+0.4%, +3.9%])``."""
        if f"{abs(self.value):.1%}" == "0.0%":
            return f"did not change ({self.text()})"
        verb = "fell" if self.value < 0 else "rose"
        return f"{verb} by {abs(self.value):.1%} ({self.text()})"

    def points_text(self) -> str:
        """A change of a fraction in points: ``+12.5 [−2.0, +25.0] points``."""
        return f"{_points(self.value)} [{_points(self.low)}, {_points(self.high)}] points"

    def points_words(self) -> str:
        """``rose by 12.5 points (+12.5 [−2.0, +25.0] points)``; signs and words agree."""
        if f"{abs(self.value) * 100:.1f}" == "0.0":
            return f"did not change ({self.points_text()})"
        verb = "fell" if self.value < 0 else "rose"
        return f"{verb} by {abs(self.value) * 100:.1f} points ({self.points_text()})"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}".replace("-", "\u2212")


def _percent(value: float) -> str:
    return f"{value:+.1%}".replace("-", "\u2212")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Override(_Frozen):
    """A refused gate released anyway: recorded with who decided and why."""

    who: str
    why: str
    at: str


class LeafChange(_Frozen):
    """A leaf's relative change of loss per set (positive: the loss rose), with intervals."""

    items: dict[str, int]
    change: dict[str, Interval]  # heldout, seeds, both


class GateDecision(_Frozen):
    passed: bool
    reasons: tuple[str, ...]
    # criteria that would have refused on too few items (retrain.min_gate_items); left out of
    # the record when there is none, so that earlier records read back unchanged
    undecided: tuple[str, ...] = Field(default=(), exclude_if=lambda found: not found)
    learned: dict[str, float]  # relative held-out loss drop per changed leaf (positive: learned)
    forgotten: dict[str, float]  # relative held-out loss rise per earlier leaf (positive: forgot)
    min_learning: float
    max_forgetting: float
    # per leaf: relative loss change on held-out, seeds and both, with paired-bootstrap intervals
    changes: dict[str, LeafChange] = {}
    learning: Interval | None = None  # mean relative drop over the changed leaves
    confidence: float | None = None


class Lineage(_Frozen):
    """Everything a model version records about where it came from (the tag message)."""

    format: int = LINEAGE_FORMAT
    version: str
    commit: str
    previous: str | None
    base_model: str
    leaves: dict[str, str]  # every leaf the model was taught, up to this version -> hash
    trained: dict[str, str]  # leaves (re)generated and trained in this version -> hash
    removed: tuple[str, ...]
    renamed: dict[str, str]  # old id -> new id
    data_hash: str
    recipe_hash: str
    metrics: dict[str, Any]
    gate: GateDecision
    override: Override | None = None
    created_at: str
    # sha256 of every file of the artifacts folder but lineage.json (empty in older versions):
    # a folder found on a machine is used only when it holds exactly these
    files: dict[str, str] = {}


@dataclass(frozen=True)
class Release:
    number: int
    commit: str
    lineage: Lineage

    @property
    def version(self) -> str:
        return f"v{self.number}"

    @property
    def tag(self) -> str:
        return f"{VERSION_PREFIX}{self.number}"


@dataclass(frozen=True)
class PointerMove:
    index: int
    version: str
    action: str
    who: str
    why: str
    newest: int
    at: str


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def parse_version(text: str) -> int:
    """``v3`` (or ``3``, or ``model/v3``) as 3; :class:`UsageError` otherwise."""
    raw = text.strip().removeprefix(VERSION_PREFIX[:-1])
    match = VERSION_NAME.match(raw if raw.startswith("v") else f"v{raw}")
    if match is None:
        raise UsageError(f"'{text}' is not a model version", hint="write it as v1, v2, ...")
    return int(match.group(1))
