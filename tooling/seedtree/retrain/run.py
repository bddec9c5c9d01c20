"""Merge to model: retrain the current model on what changed since it, and release vN+1.

One run reads top to bottom, each step recorded in a journal (:mod:`seedtree.retrain.journal`)
so that a killed run continues where it stopped::

    plan       leaves changed since the current version's commit (all leaves for v1)
    generate   added and modified leaves only (the generation cache makes the rest free)
    prepare    datasets and replay buffer of the previous version, minus deleted leaves,
               renamed leaves under their new id
    train      the recipe's phases from the previous model, new data plus replay
    choose     the last phase's candidate models scored on held-out data; the best goes on
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
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from seedtree.atomic import write_text
from seedtree.errors import EXIT_FINDINGS, EXIT_OK
from seedtree.git import head_commit
from seedtree.home import RepoHome
from seedtree.project import Project
from seedtree.retrain import branch_steps, checkpoints, steps
from seedtree.retrain.doctor import require_ready
from seedtree.retrain.journal import Journal, exclusive
from seedtree.retrain.leftovers import restore_tags
from seedtree.retrain.plan import base_of, make_plan, start_from, start_model
from seedtree.retrain.report import write_skipped_note
from seedtree.retrain.results import Outcome
from seedtree.retrain.start import retrain_recipe_name
from seedtree.retrain.state import Options, Plan, Run, TeacherFactory, link_tree
from seedtree.retrain.steps import estimate_cost
from seedtree.termsafe import text
from seedtree.train.recipe import load_recipe
from seedtree.train.settings import resolve_file
from seedtree.versions.artifacts import set_aside
from seedtree.versions.tags import current_release

# --- plan ----------------------------------------------------------------------------------------


# --- the run -------------------------------------------------------------------------------------


def _fingerprint(project: Project, options: Options, recipe_digest: str) -> str:

    start = start_from(project, options)
    settings = project.config.model_dump(mode="json", by_alias=True)
    for section in ("retrain", "generate"):  # output settings do not change the result
        settings[section].pop("quiet", None)
    blob = {
        "commit": head_commit(project.repo_root),
        "start": start.version if start else None,
        "base": base_of(project.config, options),
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
    with exclusive(RepoHome.of(project.repo_root).lock, wait=options.wait, what="retrain"):
        store = project.config.store
        for restored in restore_tags(
            project.repo_root, RepoHome.of(project.repo_root).retrain, store
        ):
            print(f"restored {restored.tag} on {restored.commit[:12]} (released, never pushed)")
        head = head_commit(project.repo_root)
        current = current_release(project.repo_root)
        if current is not None and current.commit == head and not options.base_model:
            print(f"nothing to do: {current.tag} was trained on {head[:12]} (HEAD)")
            return EXIT_OK
        if options.preflight:  # the checks of `seedtree doctor`, once there is work to do
            require_ready(project, options.allow_cpu, options.base_model)
        start_model(project, start_from(project, options), options)  # checked, every run
        fingerprint = _fingerprint(project, options, recipe.digest())
        work = RepoHome.of(project.repo_root).retrain / f"{head[:12]}-{fingerprint[:10]}"
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
    """generate → prepare → train → choose → evaluate → gate → report → artifacts → store, tag."""
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
    training = checkpoints.choose(run, steps.train(run, prepared))
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
    final = RepoHome.of(run.project.repo_root).version(plan.version) / "report.md"
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
        RepoHome.of(project.repo_root).retrain.glob(f"{head[:12]}-*/report/report.md"),
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
