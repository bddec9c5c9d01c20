"""What the steps of one retrain run share: its options, plan and run, and the lineage it records.

:mod:`seedtree.retrain.command` builds a :class:`Run`; :mod:`seedtree.retrain.steps` reads it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedtree.atomic import write_jsonl
from seedtree.config import Config
from seedtree.project import Project
from seedtree.retrain.journal import Journal
from seedtree.retrain.release import GateDecision, Lineage, Override, actor, models_home, now

TeacherFactory = Callable[[Config], Any]


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

    def say(self, text: str) -> None:
        print(text, flush=True)


def work_root(project: Project) -> Path:
    return models_home(project.repo_root) / "retrain"


def override_record(run: Run) -> Override | None:
    reason = run.options.override_reason
    if reason is None:
        return None
    return Override(who=actor(run.project.repo_root), why=reason, at=now())


def lineage_for(run: Run, metrics: Mapping[str, Any], data_hash: str, digest: str) -> Lineage:

    plan = run.plan
    gate = GateDecision.model_validate(run.journal.result("gate")["decision"])
    override = run.journal.result("gate").get("override")
    return Lineage(
        version=plan.version,
        commit=plan.commit,
        previous=plan.previous,
        base_model=plan.base_model,
        leaves=plan.leaves,
        trained={leaf: plan.leaves[leaf] for leaf in plan.generate},
        removed=plan.removed,
        renamed=plan.renamed,
        data_hash=data_hash,
        recipe_hash=digest,
        metrics=dict(metrics),
        gate=gate,
        override=Override.model_validate(override) if override else None,
        created_at=run.journal.result("gate")["at"],
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
