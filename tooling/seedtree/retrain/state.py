"""What the steps of one retrain run share: its options, plan and run, and the lineage it records.

:mod:`seedtree.retrain.run` builds a :class:`Run`; :mod:`seedtree.retrain.steps` reads it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, JsonValue, ValidationError

from seedtree.atomic import write_jsonl
from seedtree.config import Config
from seedtree.errors import UsageError
from seedtree.project import Project
from seedtree.retrain.journal import Journal
from seedtree.retrain.results import GateRecord, Metrics
from seedtree.teacher import Teacher, create_teacher
from seedtree.termsafe import lines
from seedtree.train.recipe import Recipe

if TYPE_CHECKING:
    from seedtree.train.evaluate import EvalModel
from seedtree.versions.lineage import Lineage, Override, now
from seedtree.versions.tags import actor

TeacherFactory = Callable[[Config], Teacher]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Options:
    base_model: str | None = None
    dry_run: bool = False
    override_reason: str | None = None  # --override-gate --reason TEXT
    wait: bool = True
    quiet: bool = False
    preflight: bool = True  # run the checks of `seedtree doctor` first
    allow_cpu: bool = False  # training on the CPU is intended (the demo)
    replay: bool = True  # --no-replay: train on the new data alone (to measure what replay keeps)


@dataclass(frozen=True)
class Plan:
    commit: str
    version: str
    previous: str | None
    base_model: str
    start_model: str  # the folder training starts from
    base_commit: str | None
    generate: dict[str, str]  # leaf id -> "added" | "modified"
    removed: tuple[str, ...]
    renamed: dict[str, str]  # old id -> new id (data kept)
    unchanged: tuple[str, ...]
    leaves: dict[str, str]  # every leaf taught up to this version -> the hash it was taught at
    # leaf id -> why it is not trained now (documents unavailable, invalid); one the previous
    # version taught keeps its data, replay and recorded hash, so a later run tries it again
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.generate or self.removed or self.renamed)

    @property
    def carried(self) -> tuple[str, ...]:
        """Leaves whose data is carried over from the previous version (renamed ones aside)."""
        kept = [leaf for leaf in self.skipped if leaf in self.leaves]
        return tuple(sorted((*self.unchanged, *kept)))

    def lineage(self, **recorded: Any) -> Lineage:
        """This plan's lineage record: its own fields plus what the run ``recorded``."""
        return Lineage(
            version=self.version,
            commit=self.commit,
            previous=self.previous,
            base_model=self.base_model,
            leaves=self.leaves,
            trained={leaf: self.leaves[leaf] for leaf in self.generate},
            removed=self.removed,
            renamed=self.renamed,
            **recorded,
        )


@dataclass
class Run:
    """What the steps of one run share."""

    project: Project
    plan: Plan
    work: Path
    journal: Journal
    options: Options
    teacher_factory: TeacherFactory | None
    recipe_path: Path
    recipe: Recipe  # loaded once, from recipe_path
    # the model last loaded for scoring, by folder: the checkpoint choice's last candidate is
    # the evaluation's new model when it is chosen (one kept: a large model is large)
    loaded: dict[Path, EvalModel] = field(default_factory=dict)

    def say(self, text: str) -> None:
        print(lines(text), flush=True)  # it names leaves

    def teacher(self) -> Teacher:
        """The configured teacher (or the factory's, in tests); the caller closes it."""
        if self.teacher_factory is not None:
            return self.teacher_factory(self.project.config)
        return create_teacher(self.project.config.teacher)


def override_record(run: Run) -> Override | None:
    reason = run.options.override_reason
    if reason is None:
        return None
    return Override(who=actor(run.project.repo_root), why=reason, at=now())


def recorded(journal: Journal, name: str, model: type[M]) -> M:
    """The result ``journal`` records for the finished step ``name``, typed."""
    return _typed(journal, name, model, journal.result(name))


def step(journal: Journal, name: str, work: Callable[[], M], model: type[M]) -> M:
    """Run the step ``name`` once (see :meth:`Journal.step`); its result, typed."""
    return _typed(journal, name, model, journal.step(name, work, _dump))


def _dump(value: BaseModel) -> dict[str, JsonValue]:
    return value.model_dump(mode="json")


def _typed(journal: Journal, name: str, model: type[M], raw: object) -> M:
    """A recorded result; one this version of seedtree cannot read stops the run, clearly."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise UsageError(
            f"{journal.path}: the {name} step's recorded result is not one this version of "
            f"seedtree reads ({exc.error_count()} problem(s); {where}: {first['msg']})",
            hint=f"delete {journal.path.parent} to start this run over",
        ) from None


def lineage_for(run: Run, gate: GateRecord, metrics: Metrics, data_hash: str) -> Lineage:
    """The lineage record of this run's version."""
    return run.plan.lineage(
        data_hash=data_hash,
        recipe_hash=run.recipe.digest(),
        metrics=metrics.model_dump(mode="json"),
        gate=gate.decision,
        override=gate.override,
        created_at=gate.at,
    )


def write_records(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    write_jsonl(path, [dict(r) for r in rows])


def link_tree(source: Path, target: Path) -> None:
    """Copy a folder, hard-linking files where the file system allows (models are large)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link, dirs_exist_ok=True)
