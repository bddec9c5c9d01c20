"""Merge to model: retrain the current model on what changed since it, and release vN+1.

One run reads top to bottom, each step recorded in a journal (:mod:`seedtree.retrain.journal`)
so that a killed run continues where it stopped::

    plan       leaves changed since the current version's commit (all leaves for v1)
    generate   added and modified leaves only (the generation cache makes the rest free)
    prepare    datasets and replay buffer of the previous version, minus deleted leaves,
               renamed leaves under their new id
    train      the recipe's phases from the previous model, new data plus replay
    evaluate   both models on every leaf's held-out samples (+ lm-eval benchmarks if installed)
    gate       learned the changed leaves, did not forget the others (:mod:`seedtree.retrain.gate`)
    report     markdown report and plots (also when the gate refuses)
    artifacts  $SEEDTREE_HOME/repos/<repository id>/models/vN, renamed into place when complete
    tag        the annotated tag model/vN with the lineage, written last

Runs are serialised by a lock; a run for a commit that is already released does nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from seedtree.atomic import write_text
from seedtree.config import Config
from seedtree.errors import EXIT_FINDINGS, EXIT_OK, SeedtreeError, UsageError
from seedtree.git import head_commit, run_git
from seedtree.models import resolve_model
from seedtree.project import Project
from seedtree.retrain import branch_steps, steps
from seedtree.retrain.doctor import (
    base_name,
    require_ready,
    retrain_recipe_name,
    start_release,
)
from seedtree.retrain.journal import Journal, exclusive
from seedtree.retrain.leftovers import restore_tags
from seedtree.retrain.release import (
    Release,
    artifacts_dir,
    current_release,
    local_artifacts,
    models_home,
    releases,
    set_aside,
)
from seedtree.retrain.report import write_skipped_note
from seedtree.retrain.results import Outcome
from seedtree.retrain.state import Options, Plan, Run, TeacherFactory, link_tree, work_root
from seedtree.retrain.steps import estimate_cost
from seedtree.taxonomy.changes import ChangedLeaves, changed_leaves
from seedtree.taxonomy.doccache import cached_leaf_hash
from seedtree.taxonomy.leaves import QNA, Leaf, load_each
from seedtree.termsafe import text
from seedtree.train.command import resolve_file
from seedtree.train.recipe import load_recipe
from seedtree.validate.api import validate_leaf

Hashes = dict[str, str]  # leaf id -> content hash
Skipped = dict[str, str]  # leaf id -> why it is not trained in this run

# --- plan ----------------------------------------------------------------------------------------


def _base_name(config: Config, options: Options) -> str:
    return base_name(config, options.base_model)


def _start_release(project: Project, options: Options) -> Release | None:
    return start_release(project, options.base_model)


def _require_clean(project: Project) -> None:

    rel = os.path.relpath(project.taxonomy_root, project.repo_root)
    dirty = run_git(project.repo_root, "status", "--porcelain", "--", rel).strip()
    if dirty:
        raise UsageError(
            f"the taxonomy in {project.repo_root} has uncommitted changes:\n{dirty}",
            hint="commit them first: a model version is trained on a commit",
        )


def _leaf_hashes(project: Project, leaves: Mapping[str, Leaf]) -> tuple[Hashes, Skipped]:
    """Every leaf's content hash (documents from the digest cache). A leaf whose documents
    cannot be resolved is skipped, with why, unless ``retrain.strict_documents``."""
    hashes: Hashes = {}
    skipped: Skipped = {}
    for leaf_id, leaf in sorted(leaves.items()):
        try:
            hashes[leaf_id] = cached_leaf_hash(leaf, project.repo_root)
        except SeedtreeError as exc:  # a bad reference (2) or an unreachable repository (3)
            if project.config.retrain.strict_documents:
                raise
            skipped[leaf_id] = f"documents unavailable: {exc.message}"
    return hashes, skipped


def _renames(changed: ChangedLeaves, known: Hashes, hashes: Hashes) -> dict[str, str]:
    """Leaves git saw move whose content is what the previous version was trained on."""
    renamed = {}
    for entry in changed.leaves:
        old = entry.renamed_from or ""
        if entry.kind == "renamed" and entry.id in hashes and known.get(old) == hashes[entry.id]:
            renamed[old] = entry.id
    return renamed


def _to_generate(known: Hashes, hashes: Hashes, renamed: Mapping[str, str]) -> dict[str, str]:
    """Every leaf whose hash differs from the lineage's, whatever git's diff says."""
    moved = set(renamed.values())
    return {
        leaf: "modified" if leaf in known else "added"
        for leaf, digest in hashes.items()
        if known.get(leaf) != digest and leaf not in moved
    }


def _invalid(project: Project, ids: Iterable[str]) -> Skipped:
    """Leaves with errors at the latest schema (retrain trains only what validates)."""
    found: Skipped = {}
    for leaf_id in ids:
        qna = project.taxonomy_root / leaf_id / QNA
        config = project.config.validate_
        errors = [f for f in validate_leaf(qna, config=config, held_to_latest=True) if f.is_error]
        if errors:
            shown = [f"{f.file}:{f.line}:{f.column}: {f.message} [{f.rule}]" for f in errors[:3]]
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            found[leaf_id] = "invalid: " + "; ".join(shown) + more
    return found


def _kept(hashes: Hashes, known: Hashes, skipped: Skipped) -> Hashes:
    """Hashes to record: a skipped leaf keeps the one it was last trained on, if any."""
    kept = {leaf: h for leaf, h in hashes.items() if leaf not in skipped}
    kept.update({leaf: known[leaf] for leaf in skipped if leaf in known})
    return dict(sorted(kept.items()))


def make_plan(project: Project, options: Options) -> Plan:
    """What a retrain of ``HEAD`` would do, without doing any of it.

    Leaves are compared by content hash with the starting version's lineage; git's change
    detection only names renames. A dry run names the starting model without resolving it."""

    _require_clean(project)
    start = _start_release(project, options)
    known = dict(start.lineage.leaves) if start else {}
    changed = changed_leaves(
        project.repo_root, project.taxonomy_root, base=start.commit if start else "empty"
    )
    loaded, unloadable = load_each(project.taxonomy_root)
    leaves = {leaf.id: leaf for leaf in loaded}
    hashes, skipped = _leaf_hashes(project, leaves)
    skipped.update({leaf: f"cannot be loaded: {why}" for leaf, why in unloadable.items()})
    renamed = _renames(changed, known, hashes)
    generate = _to_generate(known, hashes, renamed)
    skipped.update(_invalid(project, generate))
    recorded = _kept(hashes, known, skipped)
    removed = tuple(sorted(leaf for leaf in known if leaf not in {*leaves, *renamed, *skipped}))
    done = set(generate) | set(renamed.values()) | set(skipped)
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
        generate={k: v for k, v in sorted(generate.items()) if k not in skipped},
        removed=removed,
        renamed=dict(sorted(renamed.items())),
        unchanged=tuple(sorted(leaf for leaf in recorded if leaf not in done)),
        leaves=recorded,
        skipped=dict(sorted(skipped.items())),
    )


def _start_model(project: Project, start: Release | None, options: Options) -> Path:
    if start is not None:
        return local_artifacts(project.repo_root, project.config.store, start) / "model"

    return resolve_model(_base_name(project.config, options))


# --- the run -------------------------------------------------------------------------------------


def _fingerprint(project: Project, options: Options, recipe_digest: str) -> str:

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


def _recipe_path(project: Project) -> Path:
    return resolve_file(retrain_recipe_name(project.config), project, "recipe")


def retrain(
    project: Project, options: Options, teacher_factory: TeacherFactory | None = None
) -> int:
    """``seedtree retrain``: release the next model version, or explain why not (exit 1)."""
    recipe_path = _recipe_path(project)
    recipe = load_recipe(recipe_path)
    if options.dry_run:
        return _dry_run(project, make_plan(project, options))
    with exclusive(
        models_home(project.repo_root) / "retrain.lock", wait=options.wait, what="retrain"
    ):
        store = project.config.store
        for restored in restore_tags(project.repo_root, work_root(project), store):
            print(f"restored {restored.tag} on {restored.commit[:12]} (released, never pushed)")
        head = head_commit(project.repo_root)
        current = current_release(project.repo_root)
        if current is not None and current.commit == head and not options.base_model:
            print(f"nothing to do: {current.tag} was trained on {head[:12]} (HEAD)")
            return EXIT_OK
        if options.preflight:  # the checks of `seedtree doctor`, once there is work to do
            require_ready(project, options.allow_cpu, options.base_model)
        _start_model(project, _start_release(project, options), options)  # checked, every run
        fingerprint = _fingerprint(project, options, recipe.digest())
        work = work_root(project) / f"{head[:12]}-{fingerprint[:10]}"
        journal, plan = plan_run(project, options, work, fingerprint)
        run = Run(
            project=project,
            plan=plan,
            work=work,
            journal=journal,
            options=options,
            teacher_factory=teacher_factory,
            recipe_path=recipe_path,
            recipe=recipe,
        )
        return run_steps(run)


def plan_run(
    project: Project, options: Options, work: Path, fingerprint: str
) -> tuple[Journal, Plan]:
    """The journal to resume and its plan. The plan is made again every time: a journal whose
    recorded plan differs (one that a job that ran before on this machine wrote) is set aside
    with its whole run folder, and the run starts over."""
    plan = make_plan(project, options)
    journal = Journal(work / "journal.json", fingerprint)
    fresh = json.loads(json.dumps(asdict(plan)))
    if journal.done("plan") and journal.result("plan") != fresh:
        aside = set_aside(work)
        print(f"warning: {work}: its journal's plan is not this commit's; set aside as {aside}")
        journal = Journal(work / "journal.json", fingerprint)
    journal.step("plan", lambda: plan, asdict)
    return journal, plan


def run_steps(run: Run) -> int:
    """generate → prepare → train → evaluate → gate → report → artifacts → store and tag."""
    plan = run.plan
    if plan.empty:
        _print_skipped(plan)
        if plan.skipped:
            write_skipped_note(asdict(plan), run.work / "report")
        print(f"nothing to do: no leaf to train since {plan.previous} ({plan.base_commit})")
        return EXIT_OK
    run.say(_plan_headline(plan))
    generation = steps.generate(run)
    prepared = steps.prepare(run, generation)
    questions = branch_steps.questions(run, generation)
    training = steps.train(run, prepared)
    evaluation = steps.evaluate(run, training, questions)
    gate = steps.gate(run, evaluation)
    outcome = Outcome(generation, prepared, training, evaluation, gate)
    report = steps.report(run, outcome)
    if not gate.decision.passed and run.options.override_reason is None:
        for reason in gate.decision.reasons:
            print(f"gate refused {plan.version}: {text(reason)}", file=sys.stderr)
        print(f"kept {plan.previous or 'no model'}; nothing released")
        print(report)
        return EXIT_FINDINGS
    lineage = steps.artifacts(run, outcome)
    release = steps.tag(run, lineage)
    final = artifacts_dir(run.project.repo_root, plan.version) / "report.md"
    print(f"released {release.tag} on {plan.commit[:12]}")
    print(final)
    return EXIT_OK


def _plan_headline(plan: Plan) -> str:
    parts = [f"{len(plan.generate)} to generate", f"{len(plan.removed)} removed"]
    parts += [f"{len(plan.renamed)} renamed", f"{len(plan.unchanged)} unchanged"]
    parts += [f"{len(plan.skipped)} skipped"] if plan.skipped else []
    start = plan.previous or f"base model {plan.base_model}"
    return f"retrain {plan.commit[:12]} -> {plan.version} from {start}: " + ", ".join(parts)


# --- dry run -------------------------------------------------------------------------------------


def _dry_run(project: Project, plan: Plan) -> int:
    print(_plan_headline(plan))
    if plan.empty:
        _print_skipped(plan)
        print("nothing to do")
        return EXIT_OK
    for leaf, kind in plan.generate.items():
        print(f"  generate  {kind:<9} {text(leaf)}")
    for leaf in plan.removed:
        print(f"  drop      deleted   {text(leaf)}")
    for old, new in plan.renamed.items():
        print(f"  keep      renamed   {text(old)} -> {text(new)}")
    print(f"  replay    unchanged {len(plan.unchanged)} leaves")
    _print_skipped(plan)
    if plan.generate:
        _print_estimate(project, list(plan.generate))
    return EXIT_OK


def _print_skipped(plan: Plan) -> None:
    for leaf, why in plan.skipped.items():
        print(f"  skip      {text(leaf)}: {text(why)}")


def _print_estimate(project: Project, ids: Sequence[str]) -> None:

    for line in estimate_cost(project, ids):
        print(text(line))  # one line per leaf, named


def collect_report(project: Project, out: Path) -> int:
    """``seedtree retrain --report-dir DIR``: the report of the last run on ``HEAD``, or a note."""

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
