"""What the generate, prepare, train, gate, store and tag steps record in a run's journal.

Each step's result is one frozen model, written with ``model_dump(mode="json")`` and read back
with ``model_validate`` (the evaluate step's is :class:`seedtree.evaluation.evidence.Evaluation`).
The JSON shape is the one earlier versions of seedtree recorded as plain dicts, so a journal
they left behind (a killed run resumed after an upgrade) still loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_serializer

from seedtree.evaluation.evidence import Evaluation
from seedtree.generate.run import GenerationReport
from seedtree.train.run import PhaseSummary
from seedtree.versions.lineage import GateDecision, Override

_NEWER: dict[str, object] = {"general_samples": 0, "candidates": {}}  # fields: their defaults


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LeafGeneration(_Result):
    """One generated leaf: its dataset file, accepted samples, teacher calls and funnel."""

    dataset: str | None
    samples: int
    teacher_calls: int
    funnel: dict[str, JsonValue]  # the generate stage's Funnel.to_json()


class Generation(_Result):
    """The generate step's result: per leaf, and the teacher calls made in all."""

    leaves: dict[str, LeafGeneration] = {}
    teacher_calls: int = 0
    teacher: str | None = None  # None: nothing was generated, no teacher was started

    @classmethod
    def of(cls, report: GenerationReport) -> Generation:
        leaves = {
            leaf_id: LeafGeneration(
                dataset=str(result.dataset_path) if result.dataset_path else None,
                samples=len(result.samples),
                teacher_calls=result.funnel.teacher_calls,
                funnel=result.funnel.to_json(),
            )
            for leaf_id, result in sorted(report.leaves.items())
        }
        calls = sum(leaf.teacher_calls for leaf in leaves.values())
        return cls(leaves=leaves, teacher_calls=calls, teacher=str(report.teacher))

    def dataset(self, leaf: str) -> str | None:
        found = self.leaves.get(leaf)
        return found.dataset if found else None


class Prepared(_Result):
    """The prepare step's result: the leaves the replay buffer holds samples of."""

    replay_leaves: tuple[str, ...] = ()


class Questions(_Result):
    """The questions step's result: teacher-written multiple-choice items per knowledge leaf
    (held out, in ``prepared/evaluation``), and the teacher calls it made (0: all cached)."""

    items: dict[str, int] = {}
    teacher_calls: int = 0


class Candidate(_Result):
    """One candidate model of the last phase and its scores on held-out data."""

    step: int  # the optimizer step of the last phase it was saved after
    model: str
    accuracy: float | None  # seed multiple-choice accuracy, pooled over the leaves
    items: int  # multiple-choice items it was scored on
    loss: float | None  # mean held-out loss over the leaves (held-out samples and seed answers)


class CheckpointChoice(_Result):
    """The choose step's result: every candidate, the one released, and why."""

    candidates: tuple[Candidate, ...]
    chosen: int  # index into candidates
    why: str

    @property
    def model(self) -> str:
        return self.candidates[self.chosen].model


class Training(_Result):
    """The train step's result (``trained`` false: no new data, the start model is final)."""

    trained: bool
    final_model: str
    metrics: str | None = None  # the trainer's metrics.jsonl
    eval: str | None = None  # its forgetting matrix, eval.json
    plots: tuple[str, ...] = ()
    phases: tuple[PhaseSummary, ...] = ()
    # the candidate released (None: the last model); the choose step records it, not this one
    choice: CheckpointChoice | None = Field(default=None, exclude=True)

    @field_serializer("phases")
    def _phases(self, phases: tuple[PhaseSummary, ...]) -> list[dict[str, object]]:
        """Each phase as recorded; fields newer than a phase's record only when they hold
        something, so a journal keeps the shape earlier versions wrote."""
        return [
            {k: v for k, v in asdict(p).items() if k not in _NEWER or v != _NEWER[k]}
            for p in phases
        ]

    @classmethod
    def of(
        cls, out: Path, final_model: str, plots: Sequence[str], phases: Sequence[PhaseSummary]
    ) -> Training:
        """A training run's result: its model, plots and phases, and its files in ``out``."""
        return cls(
            trained=True,
            final_model=final_model,
            metrics=str(out / "metrics.jsonl"),
            eval=str(out / "eval.json"),
            plots=tuple(plots),
            phases=tuple(phases),
        )

    @property
    def steps(self) -> int:
        return sum(phase.steps for phase in self.phases)


class GateRecord(_Result):
    """The gate step's result: the decision, when it was made, and any override of a refusal."""

    decision: GateDecision
    at: str
    override: Override | None = None


class Metrics(_Result):
    """The headline figures of a version (``metrics`` in its lineage)."""

    loss_before: dict[str, float]
    loss_after: dict[str, float]
    mean_learning: float | None
    max_forgetting: float | None
    samples: dict[str, int]
    teacher_calls: int
    train_steps: int
    benchmarks: dict[str, JsonValue]
    seconds: dict[str, float | None]
    # the report's model-card columns (benchmarks, branch evaluations): name -> [previous, new]
    scores: dict[str, list[float]] = {}
    # the candidate of the last phase released, when it saved several: step, steps, why
    checkpoint: dict[str, JsonValue] | None = None


def checkpoint_record(choice: CheckpointChoice | None) -> dict[str, JsonValue] | None:
    """What the lineage keeps of a checkpoint choice (no local paths)."""
    if choice is None:
        return None
    steps: list[JsonValue] = [c.step for c in choice.candidates]
    return {"step": choice.candidates[choice.chosen].step, "steps": steps, "why": choice.why}


class Upload(_Result):
    """The store step's result."""

    url: str
    files: int
    uploaded: int


class Tagged(_Result):
    """The tag step's result (what ``leftovers`` looks for to restore an unpushed tag)."""

    tag: str
    commit: str


@dataclass(frozen=True)
class Outcome:
    """What the steps up to the gate found: the report, the metrics and the artifacts take it."""

    generation: Generation
    prepared: Prepared
    training: Training
    evaluation: Evaluation
    gate: GateRecord
