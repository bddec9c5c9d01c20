"""Merge to model: retrain the current model on what changed since it, and release vN+1.

One run reads top to bottom, each step recorded in a journal (:mod:`seedtree.journal`) so that a
killed run continues where it stopped::

    plan       leaves changed since the current version's commit (all leaves for v1)
    generate   added and modified leaves only (the generation cache makes the rest free)
    prepare    datasets and replay buffer of the previous version, minus deleted leaves,
               renamed leaves under their new id
    train      the recipe's phases from the previous model, new data plus replay
    evaluate   both models on every leaf's held-out samples (+ lm-eval benchmarks if installed)
    gate       learned the changed leaves, did not forget the others (:mod:`seedtree.gate`)
    report     markdown report and plots (also when the gate refuses)
    artifacts  $SEEDTREE_HOME/repos/<repository id>/models/vN, renamed into place when complete
    tag        the annotated tag model/vN with the lineage, written last

Runs are serialised by a lock; a run for a commit that is already released does nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seedtree.atomic import write_jsonl
from seedtree.config import Config
from seedtree.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from seedtree.journal import Journal, exclusive
from seedtree.project import Project
from seedtree.release import (
    Lineage,
    Override,
    Release,
    actor,
    artifacts_dir,
    current_release,
    models_home,
    now,
    releases,
)
from seedtree.taxonomy import Leaf

TeacherFactory = Callable[[Config], Any]


@dataclass(frozen=True)
class Options:
    base_model: str | None = None
    dry_run: bool = False
    override_reason: str | None = None  # --override-gate --reason TEXT
    wait: bool = True
    quiet: bool = False


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
    leaves: dict[str, str]  # every current leaf -> content hash

    @property
    def empty(self) -> bool:
        return not (self.generate or self.removed or self.renamed)


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


# --- plan ----------------------------------------------------------------------------------------


def _base_name(config: Config, options: Options) -> str:
    return options.base_model or config.retrain.base_model or config.student.model


def _start_release(project: Project, options: Options) -> Release | None:
    """The version training starts from: current, unless --base-model asks for another base."""
    current = current_release(project.repo_root)
    if current is None:
        return None
    if options.base_model and options.base_model != current.lineage.base_model:
        return None  # a new base model: every leaf is trained again from it
    return current


def _require_clean(project: Project) -> None:
    from seedtree.git import run_git

    rel = os.path.relpath(project.taxonomy_root, project.repo_root)
    dirty = run_git(project.repo_root, "status", "--porcelain", "--", rel).strip()
    if dirty:
        raise UsageError(
            f"the taxonomy in {project.repo_root} has uncommitted changes:\n{dirty}",
            hint="commit them first: a model version is trained on a commit",
        )


def _leaf_hashes(project: Project) -> tuple[dict[str, Leaf], dict[str, str]]:
    from seedtree.identity import leaf_hash
    from seedtree.taxonomy import load_taxonomy

    leaves = {leaf.id: leaf for leaf in load_taxonomy(project.taxonomy_root)}
    return leaves, {i: leaf_hash(leaf, project.repo_root) for i, leaf in sorted(leaves.items())}


def make_plan(project: Project, options: Options) -> Plan:
    """What a retrain of ``HEAD`` would do, without doing any of it.

    A dry run names the starting model without resolving it (no model is converted)."""
    from seedtree.git import head_commit
    from seedtree.gitdiff import changed_leaves

    _require_clean(project)
    start = _start_release(project, options)
    changed = changed_leaves(
        project.repo_root, project.taxonomy_root, base=start.commit if start else "empty"
    )
    _leaves, hashes = _leaf_hashes(project)
    known = dict(start.lineage.leaves) if start else {}
    generate: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for entry in changed.leaves:
        if entry.kind == "deleted" or entry.id not in hashes:
            continue
        if entry.kind == "renamed" and known.get(entry.renamed_from or "") == hashes[entry.id]:
            renamed[str(entry.renamed_from)] = entry.id
        elif known.get(entry.id) != hashes[entry.id]:
            generate[entry.id] = "modified" if entry.id in known else "added"
    removed = tuple(sorted(leaf for leaf in known if leaf not in hashes and leaf not in renamed))
    done = set(generate) | set(renamed.values())
    number = (releases(project.repo_root)[-1].number + 1) if releases(project.repo_root) else 1
    return Plan(
        commit=head_commit(project.repo_root),
        version=f"v{number}",
        previous=start.version if start else None,
        base_model=start.lineage.base_model if start else _base_name(project.config, options),
        start_model=_base_name(project.config, options)
        if options.dry_run and start is None
        else str(_start_model(project, start, options)),
        base_commit=start.commit if start else None,
        generate=dict(sorted(generate.items())),
        removed=removed,
        renamed=dict(sorted(renamed.items())),
        unchanged=tuple(sorted(leaf for leaf in hashes if leaf not in done)),
        leaves=hashes,
    )


def _start_model(project: Project, start: Release | None, options: Options) -> Path:
    if start is not None:
        folder = artifacts_dir(project.repo_root, start.version) / "model"
        if not (folder / "config.json").is_file():
            raise UsageError(
                f"{start.version} is current but its model is not on this machine ({folder})",
                hint="copy its artifacts folder here, or `seedtree models promote` one that is",
            )
        return folder
    from seedtree.models import resolve_model

    return resolve_model(_base_name(project.config, options))


# --- the run -------------------------------------------------------------------------------------


def _fingerprint(project: Project, options: Options, recipe_digest: str) -> str:
    from seedtree.git import head_commit

    start = _start_release(project, options)
    settings = project.config.model_dump(mode="json", by_alias=True)
    for section in ("retrain", "generate"):  # output settings do not change the result
        settings[section].pop("quiet", None)
    blob = {
        "commit": head_commit(project.repo_root),
        "start": start.version if start else None,
        "base": _base_name(project.config, options),
        "recipe": recipe_digest,
        "settings": {k: settings[k] for k in ("generate", "teacher", "train", "retrain")},
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def work_root(project: Project) -> Path:
    return models_home(project.repo_root) / "retrain"


def _recipe_path(project: Project) -> Path:
    from seedtree.train.command import resolve_file

    name = project.config.retrain.recipe or project.config.train.recipe
    return resolve_file(name, project, "recipe")


def retrain(
    project: Project, options: Options, teacher_factory: TeacherFactory | None = None
) -> int:
    """``seedtree retrain``: release the next model version, or explain why not (exit 1)."""
    from seedtree.git import head_commit
    from seedtree.train.recipe import load_recipe

    recipe_path = _recipe_path(project)
    digest = load_recipe(recipe_path).digest()
    if options.dry_run:
        return _dry_run(project, make_plan(project, options))
    with exclusive(
        models_home(project.repo_root) / "retrain.lock", wait=options.wait, what="retrain"
    ):
        head = head_commit(project.repo_root)
        current = current_release(project.repo_root)
        if current is not None and current.commit == head and not options.base_model:
            print(f"nothing to do: {current.tag} was trained on {head[:12]} (HEAD)")
            return EXIT_OK
        fingerprint = _fingerprint(project, options, digest)
        work = work_root(project) / f"{head[:12]}-{fingerprint[:10]}"
        journal = Journal(work / "journal.json", fingerprint)
        plan = _plan_step(project, options, journal)
        run = Run(project, plan, work, journal, options, teacher_factory, recipe_path)
        return _run_steps(run)


def _plan_step(project: Project, options: Options, journal: Journal) -> Plan:
    raw = journal.step("plan", lambda: make_plan(project, options), asdict)
    data = dict(raw)
    data["removed"] = tuple(data["removed"])
    data["unchanged"] = tuple(data["unchanged"])
    return Plan(**data)


def _run_steps(run: Run) -> int:
    from seedtree import retrain_steps as steps

    plan = run.plan
    if plan.empty:
        print(f"nothing to do: no leaf changed since {plan.previous} ({plan.base_commit})")
        return EXIT_OK
    run.say(_plan_headline(plan))
    steps.generate(run)
    steps.prepare(run)
    steps.train(run)
    steps.evaluate(run)
    decision = steps.gate(run)
    report = steps.report(run)
    if not decision.passed and run.options.override_reason is None:
        for reason in decision.reasons:
            print(f"gate refused {plan.version}: {reason}", file=sys.stderr)
        print(f"kept {plan.previous or 'no model'}; nothing released")
        print(report)
        return EXIT_FINDINGS
    steps.artifacts(run)
    release = steps.tag(run)
    final = artifacts_dir(run.project.repo_root, plan.version) / "report.md"
    print(f"released {release.tag} on {plan.commit[:12]}")
    print(final)
    return EXIT_OK


def _plan_headline(plan: Plan) -> str:
    parts = [f"{len(plan.generate)} to generate", f"{len(plan.removed)} removed"]
    parts += [f"{len(plan.renamed)} renamed", f"{len(plan.unchanged)} unchanged"]
    start = plan.previous or f"base model {plan.base_model}"
    return f"retrain {plan.commit[:12]} -> {plan.version} from {start}: " + ", ".join(parts)


def override_record(run: Run) -> Override | None:
    reason = run.options.override_reason
    if reason is None:
        return None
    return Override(who=actor(run.project.repo_root), why=reason, at=now())


def lineage_for(run: Run, metrics: Mapping[str, Any], data_hash: str, digest: str) -> Lineage:
    from seedtree.release import GateDecision

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


# --- dry run -------------------------------------------------------------------------------------


def _dry_run(project: Project, plan: Plan) -> int:
    print(_plan_headline(plan))
    if plan.empty:
        print("nothing to do")
        return EXIT_OK
    for leaf, kind in plan.generate.items():
        print(f"  generate  {kind:<9} {leaf}")
    for leaf in plan.removed:
        print(f"  drop      deleted   {leaf}")
    for old, new in plan.renamed.items():
        print(f"  keep      renamed   {old} -> {new}")
    print(f"  replay    unchanged {len(plan.unchanged)} leaves")
    if plan.generate:
        _print_estimate(project, list(plan.generate))
    return EXIT_OK


def _print_estimate(project: Project, ids: Sequence[str]) -> None:
    from seedtree.retrain_steps import estimate_cost

    for line in estimate_cost(project, ids):
        print(line)


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


def collect_report(project: Project, out: Path) -> int:
    """``seedtree retrain --report-dir DIR``: the report of the last run on ``HEAD``, or a note."""
    from seedtree.atomic import write_text
    from seedtree.git import head_commit

    head = head_commit(project.repo_root)
    found = sorted(
        work_root(project).glob(f"{head[:12]}-*/report/report.md"),
        key=lambda p: p.stat().st_mtime,
    )
    out.mkdir(parents=True, exist_ok=True)
    if not found:
        note = (
            f"### seedtree retrain\n\nNo retrain report for commit `{head[:12]}`: no leaf "
            "changed since the current model, or the run stopped before writing its report "
            "(see the job log).\n"
        )
        write_text(out / "summary.md", note)
        print((out / "summary.md").resolve())
        return EXIT_OK
    link_tree(found[-1].parent, out)
    print((out / "report.md").resolve())
    return EXIT_OK
