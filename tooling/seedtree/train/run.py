"""A training run: the recipe's phases in order, with replay, evaluation and resume.

``train_run`` is what ``seedtree train`` and the retrain pipeline call. It reads top to bottom:
validate the recipe, load the data and split off the held-out samples, score the starting model,
then for each phase mix new data with replay, plan the packed steps and train, save and score;
finally offer what was trained to the replay buffer and write the evaluation and the plots.
A phase that finished is never run again: calling ``train_run`` again resumes the run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from seedtree.atomic import write_json
from seedtree.samples import Sample
from seedtree.train.data import DatasetSource, heldout_ids, load_samples, split_heldout
from seedtree.train.engine import (
    Dist,
    barrier,
    check_ds_config,
    device,
    distributed,
    read_ds_config,
)
from seedtree.train.evaluate import BASE, TRAIN_INFO, EvalMatrix, Scores, score_model, write_matrix
from seedtree.train.general import GeneralDraw, GeneralMix, general_mix
from seedtree.train.loop import (
    PhaseJob,
    RunLogs,
    candidate_dir,
    load_model,
    load_tokenizer,
    train_phase,
)
from seedtree.train.metrics import JsonlLog, plot_losses
from seedtree.train.packing import Plan, candidate_steps, plan_phase
from seedtree.train.progress import Reporter
from seedtree.train.recipe import Phase, Recipe, load_recipe
from seedtree.train.render import Renderer
from seedtree.train.replay import ReplayBuffer, draw_replay
from seedtree.train.strategy import choose

Seeds = Mapping[str, Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class PhaseSummary:
    name: str
    new_samples: int
    replay_samples: int
    dropped: dict[str, int]
    steps: int
    accum: int
    epochs: int
    fill: float
    model_dir: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    # over the steps of the process that finished the phase (a resumed phase: since the resume)
    tokens_per_s: float | None = None
    mfu: float | None = None  # on CUDA devices with a known peak
    general_samples: int = 0  # drawn from the recipe's general datasets
    # the last phase's candidate models (folder -> optimizer step), the final one among them
    candidates: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult:
    final_model: Path
    metrics_path: Path
    eval: EvalMatrix
    eval_path: Path
    plots: tuple[Path, ...]
    phases: tuple[PhaseSummary, ...]
    heldout: dict[str, list[Sample]]


@dataclass(kw_only=True)
class _Run:
    """What the phases of one run share."""

    recipe: Recipe
    out: Path
    dist: Dist
    ds_config: dict[str, Any] | None
    tokenizer: Any
    renderer: Renderer
    heldout: dict[str, list[Sample]]
    scored: dict[str, list[Sample]]  # held-out samples scored after each phase (earlier too)
    seeds: Seeds
    pool: dict[str, list[Sample]]  # replayable samples per leaf
    excluded: set[str]  # held-out ids: never trained on nor replayed
    logs: RunLogs
    reporter: Reporter
    trained: dict[str, list[Sample]] = field(default_factory=dict)
    trained_in: dict[str, str] = field(default_factory=dict)
    replay: bool = True
    general: GeneralMix | None = None


def _resolve_recipe(recipe: Recipe | Path) -> Recipe:
    return recipe if isinstance(recipe, Recipe) else load_recipe(Path(recipe))


def _ds_config(config: Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return read_ds_config(config) if isinstance(config, Path) else check_ds_config(dict(config))


def _phase_data(
    run: _Run, phase: Phase, train: Mapping[str, list[Sample]]
) -> tuple[list[Sample], list[Sample]]:
    new = phase.weighted([s for leaf in sorted(train) for s in train[leaf] if phase.takes(s)])
    for extra in phase.datasets:
        new += [
            s
            for rows in load_samples(Path(extra)).values()
            for s in rows
            if s.id not in run.excluded
        ]
    exclude = {s.id for s in new} | run.excluded
    pool = {**run.pool, **run.trained}
    seed = f"{run.recipe.seed}:{phase.name}:replay"
    sources = phase.replay if run.replay else ()
    return new, draw_replay(pool, sources, len(new), exclude, seed)


def _score(run: _Run, model_dir: Path) -> Scores:
    model = load_model(model_dir, len(run.tokenizer)).to(device())
    budget = run.recipe.token_budget
    return score_model(model, run.renderer, run.scored, run.seeds, budget)


def _scores_json(scores: Scores) -> dict[str, dict[str, float]]:
    return {"heldout_loss": scores.heldout_loss, "seed_loglik": scores.seed_loglik}


def _write_train_info(run: _Run, model_dir: Path, phase: str, leaves: dict[str, str]) -> None:
    info = {
        "template": run.recipe.template,
        "system_prompt": run.recipe.system_prompt,
        "recipe_digest": run.recipe.digest(),
        "phase": phase,
        "leaves": leaves,
    }
    write_json(model_dir / TRAIN_INFO, info)


def _run_phase(
    run: _Run, index: int, phase: Phase, train: Mapping[str, list[Sample]], start: Path
) -> PhaseSummary:
    folder = run.out / "phases" / f"{index + 1:02d}-{phase.name}"
    new, replay = _phase_data(run, phase, train)
    general = _general_draw(run, folder.name, phase, len(new))
    for s in new:
        run.trained_in[s.leaf] = phase.name
    run.trained.update(_by_leaf(new, run.trained))
    done = folder / "done.json"
    if done.is_file():
        return PhaseSummary(**json.loads(done.read_text(encoding="utf-8")))
    rendered = run.renderer.encode_all(new + replay + general)
    world = run.dist.world
    plan = plan_phase(rendered.encoded, phase, run.recipe.token_budget, world, run.recipe.seed)
    run.reporter.phase_start(phase.name, len(new), len(replay), plan, dict(rendered.dropped))
    model_dir, speed = start, None
    candidates = _candidates(run, index, plan)
    if plan.steps:
        earlier = tuple(p.name for p in run.recipe.phases[:index])
        job = PhaseJob(
            phase=phase,
            recipe=run.recipe,
            encoded=rendered.encoded,
            plan=plan,
            from_model=start,
            out=folder,
            ds_config=run.ds_config,
            earlier_phases=earlier,
        )
        job = replace(job, candidates=candidates)
        result = train_phase(job, run.tokenizer, run.dist, run.logs, run.reporter.step)
        model_dir, speed = result.model, result.throughput
        run.reporter.phase_end(phase.name, speed)
    summary = PhaseSummary(
        name=phase.name,
        new_samples=len(new),
        replay_samples=len(replay),
        dropped=dict(rendered.dropped),
        steps=len(plan.steps),
        accum=plan.accum,
        epochs=plan.epochs,
        fill=plan.fill,
        model_dir=str(model_dir),
        tokens_per_s=speed.tokens_per_s if speed else None,
        mfu=speed.mfu if speed else None,
        general_samples=len(general),
    )
    if run.dist.main:
        kept = _saved_candidates(folder, model_dir, candidates)
        if plan.steps:  # the candidates are released like the final model: say how to render
            for trained in {str(model_dir), *kept}:
                leaves = {s.leaf: s.leaf_hash for s in new}
                _write_train_info(run, Path(trained), phase.name, leaves)
        scores = _scores_json(_score(run, model_dir))
        summary = PhaseSummary(**{**asdict(summary), "scores": scores, "candidates": kept})
        write_json(done, asdict(summary))
    barrier(run.dist)
    return PhaseSummary(**json.loads(done.read_text(encoding="utf-8")))


def _candidates(run: _Run, index: int, plan: Plan) -> tuple[int, ...]:
    """The steps the last phase saves a candidate model after (earlier phases: none)."""
    if index != len(run.recipe.phases) - 1 or not plan.steps:
        return ()
    return candidate_steps(plan, run.recipe.phases[index].checkpoints)


def _saved_candidates(folder: Path, final: Path, steps: tuple[int, ...]) -> dict[str, int]:
    """The last phase's candidate models (folder -> step); the final model is the last one."""
    if len(steps) < 2:
        return {str(final): steps[-1]} if steps else {}
    found = {str(candidate_dir(folder, s)): s for s in steps[:-1]}
    return {**found, str(final): steps[-1]}


def _general_draw(run: _Run, folder: str, phase: Phase, n_new: int) -> list[Sample]:
    """The phase's draw from the general datasets (written beside the run's other outputs)."""
    if run.general is None or not run.general.sets:
        return []
    drawn = run.general.draw(phase.name, n_new)
    if run.dist.main:
        run.general.write(folder, drawn)
    return drawn


def _by_leaf(
    samples: Sequence[Sample], into: Mapping[str, list[Sample]]
) -> dict[str, list[Sample]]:
    out = {leaf: list(rows) for leaf, rows in into.items()}
    known = {r.id for rows in out.values() for r in rows}
    for s in samples:
        if s.id not in known:
            known.add(s.id)
            out.setdefault(s.leaf, []).append(s)
    return out


def _base_scores(run: _Run, from_model: Path) -> dict[str, dict[str, float]]:
    path = run.out / "eval-base.json"
    if run.dist.main and not path.is_file():
        write_json(path, _scores_json(_score(run, from_model)))
    barrier(run.dist)
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _matrix(
    base: dict[str, dict[str, float]], phases: Sequence[PhaseSummary], trained_in: dict[str, str]
) -> EvalMatrix:
    rows = [(BASE, base), *((p.name, p.scores) for p in phases)]
    return EvalMatrix(
        phases=tuple(name for name, _ in rows),
        heldout_loss={name: dict(s.get("heldout_loss", {})) for name, s in rows},
        seed_loglik={name: dict(s.get("seed_loglik", {})) for name, s in rows},
        trained_in={**{leaf: BASE for leaf in base.get("heldout_loss", {})}, **trained_in},
    )


def _finish(
    run: _Run, phases: list[PhaseSummary], base: dict[str, dict[str, float]], buffer: ReplayBuffer
) -> TrainResult:
    matrix = _matrix(base, phases, run.trained_in)
    eval_path = run.out / "eval.json"
    plots: tuple[Path, ...] = ()
    if run.dist.main:
        for leaf, samples in sorted(run.trained.items()):
            buffer.add(leaf, samples[0].leaf_hash, samples)
        eval_path, heatmap = write_matrix(matrix, run.out)
        plots = (plot_losses(run.logs.metrics.rows(), run.out / "loss.png"), heatmap)
        write_json(
            run.out / "summary.json",
            {"phases": [asdict(p) for p in phases], "eval": matrix.to_json()},
        )
    barrier(run.dist)
    final = Path(phases[-1].model_dir)
    run.reporter.finish(phases, matrix, final)
    return TrainResult(
        final, run.logs.metrics.path, matrix, eval_path, plots, tuple(phases), run.heldout
    )


def _scored(
    heldout: Mapping[str, list[Sample]], earlier: DatasetSource | None
) -> dict[str, list[Sample]]:
    extra = load_samples(earlier) if earlier else {}
    return {**{k: v for k, v in extra.items() if k not in heldout and v}, **heldout}


def _evaluation_questions(run: _Run) -> list[str]:
    """The seed questions and held-out samples' questions: no general draw holds them."""
    held = [s.user for rows in run.scored.values() for s in rows]
    return held + [q for pairs in run.seeds.values() for q, _ in pairs]


def _split_data(
    datasets: DatasetSource, recipe: Recipe, store: Path, persist: bool
) -> tuple[dict[str, list[Sample]], dict[str, list[Sample]], set[str]]:
    """The samples trained on and those held out (per leaf), and every leaf the run has data of
    (its phases' extra datasets too)."""
    main = load_samples(datasets)
    by_leaf = dict(main)
    for phase in recipe.phases:
        for extra in phase.datasets:
            by_leaf.update({k: v for k, v in load_samples(Path(extra)).items() if k not in by_leaf})
    train_all, heldout = split_heldout(by_leaf, recipe.heldout, store, persist=persist)
    train = {leaf: rows for leaf, rows in train_all.items() if leaf in main}
    return train, heldout, set(by_leaf)


def _train_phases(
    run: _Run, train: Mapping[str, list[Sample]], from_model: Path, buffer: ReplayBuffer
) -> TrainResult:
    """Score the starting model, train the phases in order, then write what the run made."""
    with run.reporter:
        base = _base_scores(run, from_model)
        model = from_model
        summaries = []
        for index, phase in enumerate(run.recipe.phases):
            summaries.append(_run_phase(run, index, phase, train, model))
            model = Path(summaries[-1].model_dir)
        return _finish(run, summaries, base, buffer)


def train_run(
    datasets: DatasetSource,
    from_model: Path,
    out_dir: Path,
    recipe: Recipe | Path,
    replay_dir: Path | None = None,
    deepspeed_config: Path | Mapping[str, Any] | None = None,
    progress: bool = True,
    seeds: Seeds | None = None,
    earlier_heldout: DatasetSource | None = None,
    replay: bool = True,
    general: GeneralDraw | None = None,
) -> TrainResult:
    """Train every phase of ``recipe`` from ``from_model`` on ``datasets`` plus replay.

    ``datasets``: per-leaf lists of sample records, or JSONL files/folders. ``replay_dir`` holds
    the replay buffer and the held-out manifest across runs (default: ``out_dir/replay``).
    ``deepspeed_config``: a ZeRO JSON (run under torchrun or the deepspeed launcher for several
    ranks). ``seeds``: per-leaf seed (question, answer) pairs, scored after each phase.
    ``earlier_heldout``: held-out samples of leaves trained before this run, scored after each
    phase beside this run's own (the forgetting matrix then shows every leaf the model knows).
    ``replay=False`` trains on the new data alone (to measure what replay keeps).
    ``general``: how the recipe's general datasets are drawn (the version, the store's reader,
    evaluation questions no draw may hold; see :mod:`seedtree.train.general`).
    """
    recipe = _resolve_recipe(recipe)
    out_dir, from_model = out_dir.resolve(), from_model.resolve()
    recipe, ds_config = choose(recipe, _ds_config(deepspeed_config), from_model)
    with distributed(ds_config is not None) as dist:
        store = replay_dir or out_dir / "replay"
        train, heldout, leaves = _split_data(datasets, recipe, store, dist.main)
        buffer = ReplayBuffer(store, recipe.replay_per_leaf)
        tokenizer = load_tokenizer(from_model, recipe.template)
        renderer = Renderer(tokenizer, recipe.template, recipe.system_prompt, recipe.max_seq_len)
        run = _Run(
            recipe=recipe,
            out=out_dir,
            dist=dist,
            ds_config=ds_config,
            tokenizer=tokenizer,
            renderer=renderer,
            heldout=heldout,
            scored=_scored(heldout, earlier_heldout),
            seeds=dict(seeds or {}),
            pool={leaf: buffer.samples(leaf) for leaf in buffer.leaves() if leaf not in leaves},
            excluded=heldout_ids(store) | {s.id for rows in heldout.values() for s in rows},
            logs=RunLogs(JsonlLog(out_dir / "metrics.jsonl"), JsonlLog(out_dir / "samples.jsonl")),
            reporter=Reporter(progress, enabled=dist.main),
            replay=replay,
        )
        run.general = general_mix(recipe, general, out_dir, _evaluation_questions(run))
        return _train_phases(run, train, from_model, buffer)
