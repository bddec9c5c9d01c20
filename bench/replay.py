"""Does replay reduce forgetting? The LAB claim, measured on the sample taxonomy.

With the embedded student (SmolLM2-135M-Instruct) and data built from the sample taxonomy's seeds
and documents (``seedtree.train.seeddata``), for each seed: train the knowledge leaves (one phase),
then the skill leaves twice from that model, once replaying knowledge from the replay buffer and
once without. The knowledge leaves' held-out loss is measured before training, after knowledge and
after each skills run; forgetting is its increase during the skills phase.

Run: ``.venv/bin/python bench/replay.py [--seeds 2] [--batch 4] [--steps 50]``. Prints a table
(mean ± spread across seeds) and ends with ``RESULT`` lines.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TARGET = 50.0


def recipe(seed: int, phase: dict[str, Any], batch: int, steps: int, lr: float) -> Any:
    from seedtree.train.recipe import recipe_from_dict

    raw = yaml.safe_load((ROOT / "training" / "recipe.cpu.yaml").read_text())
    base = raw["phases"][0]
    raw["phases"] = [
        {
            **base,
            "effective_batch": batch,
            "min_steps": steps,
            "max_steps": steps,
            "lr": lr,
            **phase,
        }
    ]
    raw.update(seed=seed, checkpoint_every=0, max_seq_len=320, token_budget=640)
    return recipe_from_dict(raw, "bench recipe")


def one_seed(
    seed: int, work: Path, args: argparse.Namespace, data: dict[str, Any]
) -> dict[str, Any]:
    from seedtree.models import resolve_model
    from seedtree.train.evaluate import evaluate_model
    from seedtree.train.run import train_run

    knowledge = {k: v for k, v in data.items() if k.startswith("knowledge/")}
    skills = {k: v for k, v in data.items() if not k.startswith("knowledge/")}
    k_phase = {"name": "knowledge", "select": {"kinds": ["knowledge"]}}
    k_run = train_run(
        knowledge,
        resolve_model("default"),
        work / "knowledge",
        recipe(seed, k_phase, args.batch, args.steps, args.lr),
        work / "replay",
        progress=not args.quiet,
    )
    held = {leaf: rows for leaf, rows in k_run.heldout.items() if leaf in knowledge}
    out = {
        "base": k_run.eval.heldout_loss["base"],
        "knowledge": k_run.eval.heldout_loss["knowledge"],
    }
    for mode, ratio in (("replay", args.ratio), ("no replay", 0.0)):
        buffer = work / f"replay-{ratio}"
        shutil.copytree(work / "replay", buffer)
        s_phase = {
            "name": "skills",
            "select": {"kinds": ["skill"]},
            "replay": [{"select": {"kinds": ["knowledge"]}, "ratio": ratio}],
        }
        s_run = train_run(
            skills,
            k_run.final_model,
            work / f"skills-{ratio}",
            recipe(seed, s_phase, args.batch, args.steps, args.lr),
            buffer,
            progress=not args.quiet,
        )
        out[mode] = evaluate_model(s_run.final_model, held)
    return out


def forgetting(run: dict[str, Any], mode: str) -> float:
    leaves = run["knowledge"]
    return float(statistics.mean(run[mode][leaf] - run["knowledge"][leaf] for leaf in leaves))


def _cell(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def table(runs: list[dict[str, Any]]) -> str:
    stages = ["base", "knowledge", "replay", "no replay"]
    heads = ["before", "after knowledge", "after skills, replay", "after skills, no replay"]
    lines = ["| knowledge leaf | " + " | ".join(heads) + " |", "|---" * 5 + "|"]
    for leaf in sorted(runs[0]["knowledge"]):
        cells = [_cell([r[s][leaf] for r in runs]) for s in stages]
        lines.append(f"| {leaf} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--ratio", type=float, default=1.0, help="replayed per new sample")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    from seedtree.train.seeddata import seed_datasets

    data = seed_datasets(ROOT / "taxonomy", ROOT)
    started = time.perf_counter()
    runs = []
    with tempfile.TemporaryDirectory(prefix="seedtree-bench-replay-") as tmp:
        for seed in range(1, args.seeds + 1):
            runs.append(one_seed(seed, Path(tmp) / f"seed{seed}", args, data))
            print(f"seed {seed} done at {time.perf_counter() - started:.0f} s", flush=True)
    print("\nheld-out loss of the knowledge leaves (mean ± standard deviation across seeds)\n")
    print(table(runs))
    with_r = [forgetting(r, "replay") for r in runs]
    without = [forgetting(r, "no replay") for r in runs]
    spread = max(statistics.stdev(with_r), statistics.stdev(without)) if len(runs) > 1 else 0.0
    gap = statistics.mean(without) - statistics.mean(with_r)
    forgot = statistics.mean(without) > 0
    reduction = 100.0 * gap / statistics.mean(without) if forgot else float("nan")
    print(
        f"\nforgetting (loss increase during skills): replay {_cell(with_r)}, "
        f"no replay {_cell(without)}; gap {gap:.3f} vs spread {spread:.3f}"
    )
    if not forgot:
        print("no forgetting was measured without replay: train longer (--steps) to measure it")
    print(f"elapsed {time.perf_counter() - started:.0f} s")
    ok = "ok" if forgot and reduction >= TARGET else "short"
    value = f"{reduction:.0f}%" if forgot else "n/a"
    print(f"RESULT forgetting_reduction_with_replay={value} target={TARGET:.0f}% {ok}")
    measurable = "ok" if gap > spread else "short"
    print(
        f"RESULT replay_gap_over_seed_spread={gap / spread if spread else float('inf'):.1f}x "
        f"target=1x {measurable}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
