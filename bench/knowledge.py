"""Does LAB's knowledge recipe teach a leaf's facts? The student trained with and without it.

On the sample taxonomy's knowledge leaves with the demo's settings (``demo/seedtree.demo.yaml``,
``demo/recipe.demo.yaml``): each leaf's data is generated once with the configured teacher (the
embedded one: slow; answers are stored, so a second run asks nothing), then the embedded student
is trained twice from the same start, with the same knowledge phases and the same number of
optimizer steps in each: once on the plain knowledge Q&A alone (a knowledge leaf's data before
the recipe), once on every source (documents, summaries, atomic facts, Q&A, RAFT Q&A). Each
model then answers every seed question greedily.

Per leaf and model: the seed answers' loss (mean per-token loss of each seed answer after its
question, as the gate scores seeds; lower is better) and the ROUGE-L recall of the seed answers,
which state the document's facts, in the model's answers (higher is better).

With ``--out``, ``knowledge-bench.json`` there keeps the losses, the recalls and every answer.

Run: ``.venv/bin/python bench/knowledge.py [--steps 10] [--samples N] [--out DIR]``. Ends with
``RESULT`` lines: the mean seed loss and ROUGE-L recall with the new sources, each against the
plain-Q&A model as the target to beat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seedtree.evaluation.answers import model_answers, side_by_side
from seedtree.generate.run import generate_leaves
from seedtree.models import resolve_model
from seedtree.project import open_project
from seedtree.taxonomy.leaves import Leaf, load_taxonomy
from seedtree.teacher import create_teacher
from seedtree.teacher.precision import cpu_description
from seedtree.train.evaluate import load_for_eval
from seedtree.train.recipe import Recipe, load_recipe
from seedtree.train.run import TrainResult, train_run

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "demo" / "seedtree.demo.yaml"
RECIPE = ROOT / "demo" / "recipe.demo.yaml"


def _recipe(steps: int) -> Recipe:
    """The demo recipe's knowledge phases, each exactly ``steps`` optimizer steps."""
    recipe = load_recipe(RECIPE)
    phases = tuple(
        p.model_copy(update={"min_steps": steps, "max_steps": steps})
        for p in recipe.phases
        if p.name.startswith("knowledge")
    )
    return recipe.model_copy(update={"phases": phases})


def _generate(leaves: Sequence[Leaf], samples: int | None, out: Path) -> dict[str, Any]:
    project = open_project(ROOT, CONFIG)
    teacher = create_teacher(project.config.teacher)
    started = time.perf_counter()
    try:
        report = generate_leaves(
            leaves, teacher, repo_root=ROOT, config=project.config.generate, samples=samples,
            out_dir=out,
        )  # fmt: skip
    finally:
        teacher.close()
    print(f"generation: {time.perf_counter() - started:.0f} s, {report.teacher_calls} calls")
    return {leaf: result for leaf, result in report.leaves.items()}


def _train(
    name: str, data: Mapping[str, list[dict[str, Any]]], seeds: Any, recipe: Recipe, out: Path
) -> TrainResult:
    started = time.perf_counter()
    result = train_run(
        dict(data), resolve_model("default"), out / name, recipe, replay_dir=out / name / "replay",
        seeds=seeds, progress=False,
    )  # fmt: skip
    sizes = {p.name: (p.new_samples, p.steps) for p in result.phases}
    print(f"train {name}: {time.perf_counter() - started:.0f} s, (samples, steps) {sizes}")
    return result


def _contexts(leaf: Leaf) -> list[str]:
    return [seed.context for seed in leaf.knowledge_seeds for _ in seed.qas]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps per phase")
    parser.add_argument("--samples", type=int, default=None, help="Q&A samples per leaf")
    parser.add_argument("--out", type=Path, default=None, help="keep the work here")
    args = parser.parse_args()
    print(f"cpu: {cpu_description()}", flush=True)  # every figure below ran on it
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        run(out, args.steps, args.samples)


def run(out: Path, steps: int, samples: int | None) -> None:
    project = open_project(ROOT, CONFIG)
    leaves = [leaf for leaf in load_taxonomy(project.taxonomy_root) if leaf.kind == "knowledge"]
    results = _generate(leaves, samples, out / "data")
    seeds = {leaf.id: [(qa.question, qa.answer) for qa in leaf.seed_questions] for leaf in leaves}
    recipe = _recipe(steps)
    plain = _train("plain", {k: r.samples for k, r in results.items()}, seeds, recipe, out)
    full = _train("sources", {k: r.rows for k, r in results.items()}, seeds, recipe, out)
    last = recipe.phases[-1].name
    runs = (("base", full, "base"), ("plain", plain, last), ("sources", full, last))
    loss = {
        name: {leaf: -v for leaf, v in r.eval.seed_loglik[phase].items()} for name, r, phase in runs
    }
    before, after = (
        load_for_eval(r.final_model, max_seq_len=recipe.max_seq_len) for r in (plain, full)
    )
    contexts = {leaf.id: _contexts(leaf) for leaf in leaves}
    answers = side_by_side(before, after, seeds, contexts, 64, project.config.chat)
    rouge = {leaf: a.scores for leaf, a in answers.items() if a.scores is not None}
    _print(loss, rouge, results)
    recall = {k: [v.rouge_before, v.rouge_after] for k, v in rouge.items()}
    written = {  # every seed question's answers, to read what the recall measured
        leaf: [
            {"question": q, "reference": ref, "plain": p, "sources": s}
            for (q, ref), p, s in zip(
                pairs,
                model_answers(before, [q for q, _ in pairs], 64, project.config.chat),
                model_answers(after, [q for q, _ in pairs], 64, project.config.chat),
                strict=True,
            )
        ]
        for leaf, pairs in seeds.items()
    }
    (out / "knowledge-bench.json").write_text(
        json.dumps({"loss": loss, "recall": recall, "answers": written}, indent=2)
    )


def _print(loss: Mapping[str, Mapping[str, float]], rouge: Mapping[str, Any], results: Any) -> None:
    print(f"\n{'leaf':48} {'samples':>14} {'seed loss base / plain / sources':>34} "
          f"{'ROUGE-L recall plain / sources':>32}")  # fmt: skip
    for leaf, r in results.items():
        counts = f"{len(r.samples)} + {len(r.knowledge)}"
        cells = " / ".join(f"{loss[name][leaf]:.3f}" for name in ("base", "plain", "sources"))
        recall = f"{rouge[leaf].rouge_before:.3f} / {rouge[leaf].rouge_after:.3f}"
        print(f"{leaf[-48:]:48} {counts:>14} {cells:>34} {recall:>32}")
    mean_loss = {name: statistics.mean(loss[name].values()) for name in ("plain", "sources")}
    recall_plain = statistics.mean(v.rouge_before for v in rouge.values())
    recall_full = statistics.mean(v.rouge_after for v in rouge.values())
    ok = "ok" if mean_loss["sources"] < mean_loss["plain"] else "short"
    print(f"RESULT seed_loss_with_sources={mean_loss['sources']:.4f} "
          f"target=<{mean_loss['plain']:.4f} {ok}")  # fmt: skip
    ok = "ok" if recall_full > recall_plain else "short"
    print(f"RESULT rouge_l_recall_with_sources={recall_full:.4f} target=>{recall_plain:.4f} {ok}")


if __name__ == "__main__":
    main()
