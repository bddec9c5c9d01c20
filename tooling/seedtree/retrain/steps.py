"""The steps of a retrain run (see :mod:`seedtree.retrain.run`).

Each step takes what it needs from the steps before it as arguments and returns its typed
result; :func:`seedtree.retrain.run.run_steps` hands them on. The journal is only the door
for resuming: a step that finished in an earlier, killed run returns its recorded result.

Every step is safe to redo after a kill: it writes into a temporary place and renames, or
overwrites, or calls a stage that resumes on its own (generation's answer cache, training's
phase checkpoints, the replay buffer's idempotent offers).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from seedtree.atomic import write_json
from seedtree.errors import UsageError
from seedtree.evaluation.answers import Seeds, faithfulness_judge, side_by_side
from seedtree.evaluation.evidence import Evaluation, LeafAnswers, paired_leaves
from seedtree.evaluation.general import ITEMS_FILE, General, general_change
from seedtree.generate.prompts import Prompts
from seedtree.generate.run import estimate, generate_leaves
from seedtree.home import RepoHome
from seedtree.project import Project
from seedtree.retrain import branch_steps
from seedtree.retrain.branch_report import card_scores
from seedtree.retrain.card import write_card
from seedtree.retrain.gate import decide
from seedtree.retrain.leftovers import check_reused
from seedtree.retrain.report import ReportInput, write_report
from seedtree.retrain.results import (
    GateRecord,
    Generation,
    Metrics,
    Outcome,
    Prepared,
    Questions,
    Tagged,
    Training,
    Upload,
    checkpoint_record,
)
from seedtree.retrain.state import (
    Run,
    lineage_for,
    link_tree,
    override_record,
    step,
    write_records,
)
from seedtree.retrain.trend import score_trend
from seedtree.samples import Sample
from seedtree.taxonomy.leaves import QNA, Leaf, load_leaf
from seedtree.teacher import Teacher
from seedtree.train.data import load_samples, read_heldout, read_jsonl
from seedtree.train.evaluate import EvalModel, ItemLosses, load_for_eval, score_items
from seedtree.train.general import GeneralDraw, evaluation_questions
from seedtree.train.replay import ReplayBuffer
from seedtree.train.run import PhaseSummary, train_run
from seedtree.train.settings import resolve_file, taxonomy_seeds
from seedtree.versions.artifacts import artifact_hashes, push_release
from seedtree.versions.chat import chat_settings
from seedtree.versions.lineage import Lineage, Release, now
from seedtree.versions.store import fetch_url
from seedtree.versions.tags import releases, tag_release


def _load_leaf(project: Project, leaf_id: str) -> Leaf:

    return load_leaf(project.taxonomy_root / leaf_id / QNA, project.taxonomy_root)


# --- generate ------------------------------------------------------------------------------------


def _teacher(run: Run) -> Teacher:
    return run.teacher()


def _generate(run: Run) -> Generation:

    leaves = [_load_leaf(run.project, leaf) for leaf in run.plan.generate]
    teacher = _teacher(run)
    try:
        report = generate_leaves(
            leaves,
            teacher,
            repo_root=run.project.repo_root,
            config=run.project.config.generate,
            out_dir=run.work / "generated",
            quiet=run.options.quiet,
            documents=run.project.config.documents,
        )
    finally:
        teacher.close()
    return Generation.of(report)


def generate(run: Run) -> Generation:
    def work() -> Generation:
        if not run.plan.generate:
            return Generation()
        run.say(f"[generate] {len(run.plan.generate)} leaves")
        return _generate(run)

    return step(run.journal, "generate", work, Generation)


def estimate_cost(project: Project, ids: Sequence[str]) -> list[str]:
    """Lines describing the expected teacher cost of generating ``ids``."""

    leaves = [_load_leaf(project, leaf) for leaf in ids]
    costs = estimate(leaves, project.config.generate, repo_root=project.repo_root)
    lines = ["expected generation cost (teacher calls, tokens):"]
    totals = [0, 0, 0, 0]
    for leaf_id, cost in costs.items():
        figures = (cost.calls_min, cost.calls_max, cost.tokens_min, cost.tokens_max)
        totals = [a + b for a, b in zip(totals, figures, strict=True)]
        lines.append(f"  {leaf_id}: {_range(*figures[:2])} calls, {_range(*figures[2:])} tokens")
    lines.append(f"  total: {_range(*totals[:2])} calls, {_range(*totals[2:])} tokens")
    return lines


def _range(low: int, high: int) -> str:
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


# --- prepare -------------------------------------------------------------------------------------


def _data_file(root: Path, leaf: str) -> Path:
    return root / f"{leaf}.jsonl"


def _copy_renamed(source: Path, target: Path, new_id: str) -> None:

    rows = []
    for _where, row in read_jsonl(source):
        record = dict(row)
        record["metadata"] = {**dict(record.get("metadata") or {}), "leaf": new_id}
        rows.append(record)
    write_records(target, rows)


def _link(source: Path, target: Path) -> None:
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _carry_over(run: Run, previous: Path, tmp: Path) -> None:
    """Previous data and held-out samples: unchanged (and skipped) leaves kept, renamed moved."""
    plan = run.plan
    for kind in ("data", "heldout", branch_steps.EVALUATION):
        for leaf in plan.carried:
            if leaf not in plan.renamed.values():
                _link(_data_file(previous / kind, leaf), _data_file(tmp / kind, leaf))
        rename = branch_steps.rename_items if kind == branch_steps.EVALUATION else _copy_renamed
        for old, new in plan.renamed.items():
            source = _data_file(previous / kind, old)
            if source.is_file():
                rename(source, _data_file(tmp / kind, new), new)


def _replay(run: Run, previous: Path | None, tmp: Path) -> list[str]:

    if previous is not None and (previous / "replay").is_dir():
        link_tree(previous / "replay", tmp / "replay")
    buffer = ReplayBuffer(tmp / "replay", run.recipe.replay_per_leaf)
    for leaf in run.plan.removed:
        buffer.remove_leaf(leaf)
    for old, new in run.plan.renamed.items():
        buffer.rename_leaf(old, new)
    return sorted(buffer.leaves())


def prepare(run: Run, generated: Generation) -> Prepared:
    """The new version's data, held-out samples and replay buffer, in ``work/prepared``."""

    def work() -> Prepared:
        target = run.work / "prepared"
        tmp = run.work / "prepared.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        previous = (
            RepoHome.of(run.project.repo_root).version(run.plan.previous)
            if run.plan.previous
            else None
        )
        if previous is not None:
            _carry_over(run, previous, tmp)
        for leaf in run.plan.generate:
            if dataset := generated.dataset(leaf):
                _link(Path(dataset), _data_file(tmp / "data", leaf))
        replayed = _replay(run, previous, tmp)
        (tmp / "data").mkdir(parents=True, exist_ok=True)
        (tmp / "heldout").mkdir(parents=True, exist_ok=True)
        tmp.rename(target)
        return Prepared(replay_leaves=tuple(replayed))

    return step(run.journal, "prepare", work, Prepared)


# --- train ---------------------------------------------------------------------------------------


def _train_files(run: Run) -> list[Path]:
    prepared = run.work / "prepared"
    return [
        f
        for leaf in run.plan.generate
        if (f := _data_file(prepared / "data", leaf)).is_file() and f.stat().st_size
    ]


def _deepspeed(run: Run) -> Path | None:

    name = run.project.config.train.deepspeed
    return resolve_file(name, run.project, "deepspeed config") if name else None


def _earlier_heldout(run: Run) -> list[Path]:
    """Held-out files of the leaves kept from earlier versions (scored after every phase)."""
    folder = run.work / "prepared" / "heldout"
    return [
        f
        for leaf in run.plan.leaves
        if leaf not in run.plan.generate and (f := _data_file(folder, leaf)).is_file()
    ]


def _evaluation_files(run: Run) -> list[Path]:
    """The version's multiple-choice items: their questions are never in a general draw."""
    return sorted((run.work / "prepared" / branch_steps.EVALUATION).rglob("*.jsonl"))


def _general_draw(run: Run) -> GeneralDraw:
    """The draw of the recipe's general datasets: seeded by the version, read from the store."""
    avoid = evaluation_questions(_evaluation_files(run))
    return GeneralDraw(label=run.plan.version, fetch=fetch_url, avoid=avoid)


def _train_in_process(run: Run, files: list[Path]) -> Training:
    result = train_run(
        files,
        Path(run.plan.start_model),
        run.work / "train",
        run.recipe_path,
        replay_dir=run.work / "prepared" / "replay",
        deepspeed_config=_deepspeed(run),
        progress=not run.options.quiet,
        seeds=taxonomy_seeds(run.project.taxonomy_root, list(run.plan.leaves)),
        earlier_heldout=_earlier_heldout(run),
        replay=run.options.replay,
        general=_general_draw(run),
    )
    out = run.work / "train"
    return Training.of(out, str(result.final_model), [str(p) for p in result.plots], result.phases)


def _train_launched(run: Run, files: list[Path]) -> Training:
    """``<launcher> -m seedtree train ...`` (torchrun over several GPUs); results from its files."""
    import subprocess

    out = run.work / "train"
    command = [*run.project.config.retrain.launcher, "-m", "seedtree", "train"]
    command += [arg for f in files for arg in ("--data", str(f))]
    command += ["--from", run.plan.start_model, "--out", str(out), "--recipe", str(run.recipe_path)]
    command += ["--replay", str(run.work / "prepared" / "replay"), "-C", str(run.project.repo_root)]
    deepspeed = _deepspeed(run)
    command += ["--deepspeed", str(deepspeed)] if deepspeed else []
    command += [arg for f in _earlier_heldout(run) for arg in ("--earlier-heldout", str(f))]
    command += [] if run.options.replay else ["--no-replay"]
    command += ["--general-label", run.plan.version]
    command += [arg for f in _evaluation_files(run) for arg in ("--heldout-questions", str(f))]
    command += ["--quiet"] if run.options.quiet else []
    run.say(f"[train] {' '.join(command)}")
    done = subprocess.run(command, cwd=run.project.repo_root, check=False)
    if done.returncode != 0:
        raise UsageError(f"training failed (exit {done.returncode}): {' '.join(command)}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    phases = [PhaseSummary(**phase) for phase in summary["phases"]]
    plots = [str(p) for p in (out / "loss.png", out / "forgetting.png") if p.is_file()]
    return Training.of(out, phases[-1].model_dir, plots, phases)


def _write_heldout(run: Run, files: list[Path]) -> None:
    """The held-out samples of the leaves trained now, as the trainer chose them."""

    prepared = run.work / "prepared"
    chosen = read_heldout(prepared / "replay")
    for leaf, samples in load_samples(files).items():
        ids = set(chosen.get(leaf, ()))
        rows = [dict(s.record) for s in samples if s.id in ids and s.record]
        write_records(_data_file(prepared / "heldout", leaf), rows)


def _train(run: Run) -> Training:
    files = _train_files(run)
    if not files:
        return Training(trained=False, final_model=run.plan.start_model)
    if run.project.config.retrain.launcher:
        result = _train_launched(run, files)
    else:
        result = _train_in_process(run, files)
    _write_heldout(run, files)
    return result


def train(run: Run, prepared: Prepared) -> Training:
    """The recipe's phases from the start model on the prepared data (and its replay buffer)."""

    def work() -> Training:
        replayed = len(prepared.replay_leaves)
        run.say(f"[train] from {run.plan.start_model}, replaying {replayed} earlier leaves")
        return _train(run)

    return step(run.journal, "train", work, Training)


# --- evaluate ------------------------------------------------------------------------------------


def heldout_of(run: Run) -> dict[str, list[Sample]]:
    """The held-out samples of every leaf the version knows."""
    folder = run.work / "prepared" / "heldout"
    files = sorted(folder.rglob("*.jsonl"))
    loaded = load_samples(files) if files else {}
    return {leaf: rows for leaf, rows in loaded.items() if leaf in run.plan.leaves and rows}


def load_model_of(run: Run, model: Path) -> EvalModel:
    """A model loaded for scoring, rendered with the recipe's template and system prompt; the
    one loaded last is kept (``run.loaded``) and handed out again for the same folder."""
    folder = model.resolve()
    if folder in run.loaded:
        return run.loaded[folder]
    run.loaded.clear()
    recipe = run.recipe
    loaded = load_for_eval(
        model,
        template=recipe.template,
        system_prompt=recipe.system_prompt,
        max_seq_len=recipe.max_seq_len,
    )
    run.loaded[folder] = loaded
    return loaded


def budget_of(run: Run) -> int:
    """Tokens per packed scoring batch."""
    return max(run.recipe.token_budget, run.recipe.max_seq_len)


def _items(
    run: Run, loaded: EvalModel, heldout: Mapping[str, list[Sample]], seeds: Seeds
) -> ItemLosses:
    return score_items(loaded, heldout, seeds, budget_of(run))


def _knowledge_contexts(run: Run, changed: Sequence[str]) -> dict[str, list[str]]:
    """Per changed knowledge leaf, the seed context of each of its seed questions, in order."""
    out = {}
    for leaf_id in changed:
        leaf = _load_leaf(run.project, leaf_id)
        if leaf.kind == "knowledge":
            out[leaf_id] = [s.context for s in leaf.knowledge_seeds for _ in s.qas]
    return out


def _side_by_side(
    run: Run, previous: EvalModel, current: EvalModel, seeds: Seeds
) -> dict[str, LeafAnswers]:
    changed = {leaf: seeds[leaf] for leaf in run.plan.generate if leaf in seeds}
    contexts = _knowledge_contexts(run, list(changed))
    settings = run.project.config
    tokens, decoding = settings.retrain.answer_tokens, settings.chat
    if not (settings.retrain.judge_answers and contexts):
        return side_by_side(previous, current, changed, contexts, tokens, decoding)
    teacher = _teacher(run)
    try:
        prompts_dir = settings.generate.prompts_dir
        prompts = Prompts(run.project.repo_root / prompts_dir if prompts_dir else None)
        judge = faithfulness_judge(teacher, prompts)
        return side_by_side(previous, current, changed, contexts, tokens, decoding, judge)
    finally:
        teacher.close()


def _general(run: Run, training: Training) -> General:
    """General benchmarks of the new model, paired per item with the previous model's."""
    previous = run.plan.previous
    home = RepoHome.of(run.project.repo_root)
    recorded = home.version(previous) / ITEMS_FILE if previous else None
    models = (Path(run.plan.start_model), Path(training.final_model))
    settings, root = run.project.config.retrain, run.project.repo_root
    return general_change(models, recorded, settings, root, run.work / "benchmarks")


def _evaluate(run: Run, training: Training, questions: Questions) -> Evaluation:
    heldout = heldout_of(run)
    seeds = taxonomy_seeds(run.project.taxonomy_root, list(run.plan.leaves))
    changed = training.trained
    # the new model first: it is the checkpoint choice's last load when that chose it
    current = load_model_of(run, Path(training.final_model)) if changed else None
    after = _items(run, current, heldout, seeds) if current else None
    previous = load_model_of(run, Path(run.plan.start_model))
    before = _items(run, previous, heldout, seeds)
    current, after = current or previous, after or before
    run.loaded.clear()
    started = time.monotonic()
    answers = _side_by_side(run, previous, current, seeds) if changed else {}
    seconds = round(time.monotonic() - started, 3)
    run.say(f"[evaluate] branch: {sum(questions.items.values())} teacher-written items, seeds")
    measured = branch_steps.branch(run, previous, current, budget_of(run))
    general = _general(run, training)
    bench = general.figures
    if "skipped" in bench:
        run.say(f"[evaluate] {bench['skipped']}")
    measured = measured.model_copy(
        update={"benchmarks": general.changes, "notes": (*measured.notes, *general.notes)}
    )
    return Evaluation(
        leaves=paired_leaves(before, after),
        answers=answers,
        answer_seconds=seconds,
        benchmarks=bench,
        branch=measured,
    )


def evaluate(run: Run, training: Training, questions: Questions) -> Evaluation:
    """The start model and the trained one, side by side on every leaf the version knows."""

    def work() -> Evaluation:
        run.say("[evaluate] held-out and seed losses of the previous and the new model")
        return _evaluate(run, training, questions)

    return step(run.journal, "evaluate", work, Evaluation)


# --- gate ----------------------------------------------------------------------------------------


def gate(run: Run, evaluation: Evaluation) -> GateRecord:
    """The release decision on the evaluation, with any override of a refusal recorded."""

    def work() -> GateRecord:
        decision = decide(evaluation, list(run.plan.generate), run.project.config.retrain)
        return GateRecord(decision=decision, at=now())

    record = step(run.journal, "gate", work, GateRecord)
    override = override_record(run)
    if not record.decision.passed and override is not None and record.override is None:
        overridden = record.model_copy(update={"override": override})
        run.journal.record("gate", overridden.model_dump(mode="json"))
        run.say(f"[gate] refused, released anyway: override by {override.who}: {override.why}")
        return overridden
    return record


# --- report, artifacts, tag ----------------------------------------------------------------------


def report(run: Run, outcome: Outcome) -> Path:
    """Write (or rewrite) the run's report folder; returns the absolute path of report.md."""

    data = ReportInput(
        version=run.plan.version,
        plan=run.plan,
        generation=outcome.generation,
        prepared=outcome.prepared,
        training=outcome.training,
        evaluation=outcome.evaluation,
        decision=outcome.gate.decision,
        override=outcome.gate.override,
        seconds={s: run.journal.seconds(s) or 0.0 for s in run.journal.steps},
        trend=score_trend(
            releases(run.project.repo_root),
            run.plan.version,
            card_scores(outcome.evaluation.branch),
        ),
    )
    return write_report(data, run.work / "report")


def _data_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.jsonl")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _metrics(run: Run, outcome: Outcome) -> Metrics:
    evaluation, decision, generation = outcome.evaluation, outcome.gate.decision, outcome.generation
    learned = decision.learned
    return Metrics(
        loss_before=evaluation.means("before"),
        loss_after=evaluation.means("after"),
        mean_learning=sum(learned.values()) / len(learned) if learned else None,
        max_forgetting=max(decision.forgotten.values()) if decision.forgotten else None,
        samples={leaf: v.samples for leaf, v in generation.leaves.items()},
        teacher_calls=generation.teacher_calls,
        train_steps=outcome.training.steps,
        benchmarks=evaluation.benchmarks,
        seconds={s: run.journal.seconds(s) for s in run.journal.steps},
        scores=card_scores(evaluation.branch),
        checkpoint=checkpoint_record(outcome.training.choice),
    )


def _fill_artifacts(run: Run, training: Training, staging: Path) -> None:
    link_tree(Path(training.final_model), staging / "model")
    for name in ("data", "replay", "heldout", branch_steps.EVALUATION):
        link_tree(run.work / "prepared" / name, staging / name)
    link_tree(run.work / "report", staging)
    items = run.work / "benchmarks" / ITEMS_FILE
    if items.is_file():
        shutil.copy2(items, staging / ITEMS_FILE)
    if training.trained:
        (staging / "train").mkdir(parents=True, exist_ok=True)
        for name in ("metrics.jsonl", "eval.json", "summary.json"):
            source = run.work / "train" / name
            if source.is_file():
                shutil.copy2(source, staging / "train" / name)
    recipe = run.recipe
    chat = chat_settings(recipe.template, recipe.system_prompt, run.project.config.chat)
    write_json(staging / "chat.json", chat)


def _expected(run: Run) -> dict[str, str]:
    """What a reusable artifacts folder of this run records (an earlier, killed run's may not)."""
    return {
        "version": run.plan.version,
        "commit": run.plan.commit,
        "data_hash": _data_hash(run.work / "prepared" / "data"),
        "recipe_hash": run.recipe.digest(),
    }


def artifacts(run: Run, outcome: Outcome) -> Lineage:
    """The version's folder (model, data, replay, held-out, report, lineage), renamed into
    place when complete; returns its lineage."""

    def work() -> Lineage:
        final = RepoHome.of(run.project.repo_root).version(run.plan.version)
        staging = final.parent / f".{final.name}.partial"
        aside = check_reused(final, _expected(run))
        if aside is not None:
            run.say(f"[artifacts] {final} is another run's, set aside as {aside.name}")
        if not (final / "lineage.json").is_file():
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            _fill_artifacts(run, outcome.training, staging)
            lineage = lineage_for(
                run, outcome.gate, _metrics(run, outcome), _data_hash(staging / "data")
            )
            write_card(staging, lineage, run.project.taxonomy_root)
            lineage = lineage.model_copy(update={"files": artifact_hashes(staging)})
            write_json(staging / "lineage.json", lineage.model_dump(mode="json"))
            staging.rename(final)
        run.say(f"[artifacts] {final}")
        return Lineage.model_validate_json((final / "lineage.json").read_text(encoding="utf-8"))

    return step(run.journal, "artifacts", work, Lineage)


def _upload(run: Run, store_url: str, lineage: Lineage) -> Upload:
    repo_root = run.project.repo_root
    run.say(f"[store] uploading {lineage.version} to {store_url}")
    done = push_release(repo_root, store_url, lineage.version, lineage.commit)
    run.say(f"[store] put {done.moved} files ({done.moved_bytes:,} bytes), {done.present} present")
    return Upload(url=store_url, files=done.files, uploaded=done.moved)


def tag(run: Run, lineage: Lineage) -> Release:
    """Upload the version to the store (when one is configured), then write its tag."""
    store_url = run.project.config.store
    if store_url:
        step(run.journal, "store", lambda: _upload(run, store_url, lineage), Upload)
    else:
        run.say(f"[store] no store configured: {lineage.version} lives only on this machine")

    def work() -> Tagged:
        release = tag_release(run.project.repo_root, lineage)
        return Tagged(tag=release.tag, commit=release.commit)

    if step(run.journal, "tag", work, Tagged).commit != lineage.commit:
        raise UsageError(f"{lineage.version}: the tag points at another commit")
    return Release(int(lineage.version[1:]), lineage.commit, lineage)
