"""The best checkpoint, not the last: the last phase's candidate models scored, the best released.

The last phase saves a candidate at the end of each epoch (or ``checkpoints: N`` of them, evenly
spaced; :func:`seedtree.train.packing.candidate_steps`). Before the evaluation, each is scored on
the held-out evaluations that cost little: the seed multiple-choice accuracy (each seed question
with its own answer among other seeds' answers, :mod:`seedtree.evaluation.choices`) and the
held-out loss (mean over the leaves of each leaf's mean loss per answer token on its held-out
samples and seed answers). The best is released, as InstructLab picks its phase-2 checkpoint by
MT-Bench:

1. the highest seed multiple-choice accuracy;
2. among equal accuracies, the lowest held-out loss;
3. among equals, the latest step.

The evaluation and the gate then measure the chosen one. The unchosen candidates' folders are
removed once the choice is recorded.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from seedtree.evaluation.choices import score_choices, seed_choices
from seedtree.retrain.results import Candidate, CheckpointChoice, Training
from seedtree.retrain.state import Run, step
from seedtree.retrain.steps import budget_of, heldout_of, load_model_of
from seedtree.train.evaluate import score_items
from seedtree.train.settings import taxonomy_seeds

# scores one candidate: (model folder, step) -> its scores
Scorer = Callable[[str, int], Candidate]


def _rank(candidate: Candidate) -> tuple[float, float, int]:
    accuracy = -1.0 if candidate.accuracy is None else candidate.accuracy
    loss = math.inf if candidate.loss is None else candidate.loss
    return accuracy, -loss, candidate.step


def _why(candidates: Sequence[Candidate], best: Candidate) -> str:
    others = [c for c in candidates if c is not best]
    if best.accuracy is None:
        return "no seed multiple-choice items: the lowest held-out loss"
    tied = [c for c in others if c.accuracy == best.accuracy]
    accuracy = f"seed multiple-choice accuracy {best.accuracy:.1%} of {best.items} items"
    if not tied:
        return f"the highest {accuracy}"
    if all(c.loss == best.loss for c in tied):
        return f"{accuracy} and held-out loss equal to another candidate's: the latest step"
    return f"{accuracy}, shared with {len(tied)} other(s): the lowest held-out loss among them"


def choose_best(candidates: Sequence[Candidate]) -> CheckpointChoice:
    """The candidate to release (see the module's text for the order), and why."""
    ordered = tuple(sorted(candidates, key=lambda c: c.step))
    best = max(range(len(ordered)), key=lambda i: _rank(ordered[i]))
    return CheckpointChoice(candidates=ordered, chosen=best, why=_why(ordered, ordered[best]))


def score_candidates(candidates: dict[str, int], scorer: Scorer) -> CheckpointChoice:
    return choose_best([scorer(model, at) for model, at in candidates.items()])


def held_out_scorer(run: Run) -> Scorer:
    """Each candidate on the version's held-out samples and its leaves' seeds."""
    heldout = heldout_of(run)
    seeds = taxonomy_seeds(run.project.taxonomy_root, list(run.plan.leaves))
    items = [c for leaf, pairs in sorted(seeds.items()) for c in seed_choices(leaf, pairs)]

    def score(model: str, at: int) -> Candidate:
        loaded = load_model_of(run, Path(model))
        picks = score_choices(loaded, items, budget_of(run))
        losses = score_items(loaded, heldout, seeds, budget_of(run))
        per_leaf = [
            sum(rows.values()) / len(rows)
            for leaf in sorted(set(losses.heldout) | set(losses.seeds))
            if (rows := {**losses.heldout.get(leaf, {}), **losses.seeds.get(leaf, {})})
        ]
        return Candidate(
            step=at,
            model=model,
            accuracy=sum(p[0] for p in picks.values()) / len(picks) if picks else None,
            items=len(picks),
            loss=sum(per_leaf) / len(per_leaf) if per_leaf else None,
        )

    return score


def _drop_unchosen(choice: CheckpointChoice) -> None:
    """The candidates not released, but for a phase's own final model (its summary names it)."""
    for candidate in choice.candidates:
        folder = Path(candidate.model)
        if candidate.model != choice.model and folder.parent.name == "candidates":
            shutil.rmtree(folder, ignore_errors=True)


def choose(run: Run, training: Training, scorer: Scorer | None = None) -> Training:
    """The training result with its best candidate as the model to evaluate and release."""
    last = training.phases[-1].candidates if training.trained and training.phases else {}
    if len(last) < 2:
        return training

    def work() -> CheckpointChoice:
        run.say(f"[choose] {len(last)} candidates of the last phase, scored on held-out data")
        return score_candidates(last, scorer or held_out_scorer(run))

    choice = step(run.journal, "choose", work, CheckpointChoice)
    _drop_unchosen(choice)
    chosen = choice.candidates[choice.chosen]
    run.say(f"[choose] step {chosen.step}: {choice.why}")
    return training.model_copy(update={"final_model": choice.model, "choice": choice})
