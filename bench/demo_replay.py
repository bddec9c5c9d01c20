"""What does replay keep in the demo? v2 trained again from v1 without replay, both measured.

After ``make demo`` (``python -m seedtree.demo --workdir DIR``), this trains v2's new data once
more from v1's model with the same recipe but no replay (``train_run(..., replay=False)``, what
``seedtree train --no-replay`` runs), then scores v1, the released v2 (with replay) and the
no-replay model on every leaf's held-out samples and seeds, and prints each earlier leaf's loss
change against v1 with its 90% paired-bootstrap interval, as the gate computes it.

Run: ``.venv/bin/python bench/demo_replay.py --workdir DIR``. Ends with ``RESULT`` lines: the
largest and the mean rise of an earlier leaf's loss with replay (target: the gate's 5%), and the
same without replay (the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from seedtree.evaluation.answers import Seeds
from seedtree.evaluation.evidence import BOTH, paired_leaves
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain.gate import leaf_change
from seedtree.train.data import load_samples
from seedtree.train.evaluate import ItemLosses, load_for_eval, score_items
from seedtree.train.recipe import Recipe, load_recipe
from seedtree.train.run import train_run
from seedtree.train.settings import taxonomy_seeds

TARGET = 0.05


def _scores(model: Path, heldout: Path, seeds: Seeds, recipe: Recipe) -> ItemLosses:
    loaded = load_for_eval(
        model,
        template=recipe.template,
        system_prompt=recipe.system_prompt,
        max_seq_len=recipe.max_seq_len,
    )
    budget = max(recipe.token_budget, recipe.max_seq_len)
    return score_items(loaded, load_samples(sorted(heldout.rglob("*.jsonl"))), seeds, budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, required=True, help="The demo's --workdir.")
    args = parser.parse_args()
    os.environ.setdefault("SEEDTREE_HOME", str(args.workdir / "seedtree-home"))

    repo = args.workdir / "taxonomy-repo"
    project = open_project(repo, repo / "demo" / "seedtree.demo.yaml")
    v1, v2 = RepoHome.of(repo).version("v1"), RepoHome.of(repo).version("v2")
    lineage = json.loads((v2 / "lineage.json").read_text())
    trained, leaves = sorted(lineage["trained"]), sorted(lineage["leaves"])
    recipe = load_recipe(repo / "demo" / "recipe.demo.yaml")
    seeds = taxonomy_seeds(project.taxonomy_root, leaves)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(v1 / "replay", work / "replay")
        result = train_run(
            [v2 / "data" / f"{leaf}.jsonl" for leaf in trained],
            v1 / "model",
            work / "out",
            recipe,
            replay_dir=work / "replay",
            seeds=seeds,
            earlier_heldout=sorted((v1 / "heldout").rglob("*.jsonl")),
            replay=False,
            progress=False,
        )
        before = _scores(v1 / "model", v2 / "heldout", seeds, recipe)
        runs = {
            "with replay (v2)": _scores(v2 / "model", v2 / "heldout", seeds, recipe),
            "without replay": _scores(result.final_model, v2 / "heldout", seeds, recipe),
        }
    rises: dict[str, list[float]] = {}
    print(f"{'leaf':58} " + "  ".join(f"{name:>30}" for name in runs))
    changes = {
        name: {
            leaf: leaf_change(leaf, items, project.config.retrain).change[BOTH]
            for leaf, items in paired_leaves(before, after).items()
        }
        for name, after in runs.items()
    }
    for leaf in leaves:
        role = "trained" if leaf in trained else "earlier"
        cells = [changes[name][leaf].text() for name in runs]
        print(f"{leaf[-50:]:50} {role:7} " + "  ".join(f"{c:>30}" for c in cells))
        if role == "earlier":
            for name in runs:
                rises.setdefault(name, []).append(changes[name][leaf].value)
    for name, key in (("with replay (v2)", "with_replay"), ("without replay", "without_replay")):
        worst, mean = max(rises[name]), statistics.mean(rises[name])
        ok = "ok" if worst <= TARGET else "short"
        print(f"RESULT earlier_max_rise_{key}={worst:+.1%} target={TARGET:.0%} {ok}")
        ok = "ok" if mean <= TARGET else "short"
        print(f"RESULT earlier_mean_rise_{key}={mean:+.1%} target={TARGET:.0%} {ok}")


if __name__ == "__main__":
    main()
