"""LoRA against full training of the demo's student on this machine's CPU, side by side.

Same model (the embedded SmolLM2-135M-Instruct), same samples (the sample taxonomy's seeds, as in
``bench/train.py``), same packed steps; one side trains every weight, the other a rank-16 LoRA
adapter on the attention and MLP projections. Each side runs in its own process, for its peak
memory. Reports trainable parameters, resident memory while training (the largest after any
step), the process's peak (loading and saving the merged model included) and the mean step time
(the first step, which warms up allocations, left out).

Run: ``.venv/bin/python bench/lora.py [--samples 32] [--batch 4]``. Ends with ``RESULT`` lines.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from seedtree.teacher.precision import cpu_description
from train import encoded_samples

BUDGET = 1024
MAX_LEN = 512


def resident() -> int:
    """Resident memory of this process now, in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_side(model_dir: Path, strategy: str, count: int, batch: int) -> dict[str, Any]:
    from seedtree.train.engine import Dist
    from seedtree.train.loop import PhaseJob, RunLogs, load_tokenizer, train_phase
    from seedtree.train.metrics import JsonlLog
    from seedtree.train.packing import plan_phase
    from seedtree.train.recipe import Phase, Recipe, Selector
    from seedtree.train.strategy import folder_shape

    tokenizer = load_tokenizer(model_dir, "chat")
    encoded = encoded_samples(tokenizer, count)
    lr = 1e-3 if strategy == "lora" else 1e-4
    phase = Phase(name="bench", select=Selector(), lr=lr, effective_batch=batch)
    recipe = Recipe(
        max_seq_len=MAX_LEN,
        token_budget=BUDGET,
        precision="fp32",
        checkpoint_every=0,
        phases=(phase,),
        strategy=strategy,  # type: ignore[arg-type]
    )
    plan = plan_phase(encoded, phase, BUDGET, 1, recipe.seed)
    with tempfile.TemporaryDirectory() as tmp:
        logs = RunLogs(JsonlLog(Path(tmp) / "m.jsonl"), JsonlLog(Path(tmp) / "s.jsonl"))
        job = PhaseJob(phase, recipe, encoded, plan, model_dir, Path(tmp) / "out", None)
        rss: list[int] = []
        train_phase(job, tokenizer, Dist(0, 1, False), logs, lambda *_: rss.append(resident()))
        rows = logs.metrics.rows()
    timed = rows[1:] or rows
    shape, adapter = folder_shape(model_dir, recipe.lora)
    trainable = adapter if strategy == "lora" else shape.params
    return {
        "trainable": trainable,
        "train_mib": max(rss) / 2**20,
        "step_s": sum(r["step_s"] for r in timed) / len(timed),
        "steps": len(rows),
        "first_loss": rows[0]["loss"],
        "last_loss": rows[-1]["loss"],
    }


def child(args: argparse.Namespace) -> int:
    from seedtree.models import resolve_model

    result = run_side(resolve_model("default"), args.child, args.samples, args.batch)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("CHILD " + json.dumps(result))
    return 0


def measure(side: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", side]
    cmd += ["--samples", str(args.samples), "--batch", str(args.batch)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("CHILD "))
    return dict(json.loads(line[len("CHILD ") :]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4, help="samples per optimizer step")
    parser.add_argument("--child", choices=["full", "lora"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(f"cpu: {cpu_description()}", flush=True)  # every figure below ran on it
    if args.child:
        return child(args)
    results = {side: measure(side, args) for side in ("full", "lora")}
    print(
        f"{'side':6} {'trainable':>12} {'train MiB':>10} {'peak MiB':>9} {'step s':>7} "
        f"{'steps':>6} {'loss':>15}"
    )
    for side, r in results.items():
        loss = f"{r['first_loss']:.2f} -> {r['last_loss']:.2f}"
        print(
            f"{side:6} {r['trainable']:12,d} {r['train_mib']:10.0f} {r['peak_mib']:9.0f} "
            f"{r['step_s']:7.2f} "
            f"{r['steps']:6d} {loss:>15}"
        )
    full, lora = results["full"], results["lora"]
    share = lora["trainable"] / full["trainable"]
    saved = full["train_mib"] - lora["train_mib"]
    ratio = lora["step_s"] / full["step_s"]
    verdict = {True: "ok", False: "short"}
    print(f"RESULT lora_trainable_share={share:.2%} target<=5% {verdict[share <= 0.05]}")
    print(f"RESULT lora_training_memory_saved_mib={saved:.0f} target>0 {verdict[saved > 0]}")
    print(f"RESULT lora_step_time_vs_full={ratio:.2f}x target<=1.0x {verdict[ratio <= 1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
