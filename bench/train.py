"""Training throughput: our padding-free packing against a plain Hugging Face ``Trainer``.

Same model (the embedded SmolLM2-135M-Instruct), same samples (built from the sample taxonomy's
seeds and documents, rendered with the same chat template and answer-only labels), same number of
samples per optimizer step, one epoch each, each side in its own process (for its peak memory).
Tokens/s counts real (non-padding) tokens over the training time only.

Run: ``.venv/bin/python bench/train.py [--samples 64] [--batch 8]``. Ends with ``RESULT`` lines.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1024
MAX_LEN = 512


def encoded_samples(tokenizer: Any, count: int) -> list[Any]:
    from seedtree.samples import SYSTEM
    from seedtree.train.data import load_samples
    from seedtree.train.render import Renderer
    from seedtree.train.seeddata import seed_datasets

    records = [r for rows in seed_datasets(ROOT / "taxonomy", ROOT).values() for r in rows]
    random.Random(0).shuffle(records)
    samples = [s for rows in load_samples({"all": records[:count]}).values() for s in rows]
    return Renderer(tokenizer, "chat", SYSTEM, MAX_LEN).encode_all(samples).encoded


def run_packed(model_dir: Path, count: int, batch: int, lr: float) -> dict[str, Any]:
    from seedtree.train.engine import Dist
    from seedtree.train.loop import PhaseJob, RunLogs, load_tokenizer, train_phase
    from seedtree.train.metrics import JsonlLog
    from seedtree.train.packing import plan_phase
    from seedtree.train.recipe import Phase, Recipe, Selector

    tokenizer = load_tokenizer(model_dir, "chat")
    encoded = encoded_samples(tokenizer, count)
    phase = Phase(name="bench", select=Selector(), lr=lr, effective_batch=batch)
    recipe = Recipe(
        max_seq_len=MAX_LEN,
        token_budget=BUDGET,
        precision="fp32",
        checkpoint_every=0,
        phases=(phase,),
    )
    plan = plan_phase(encoded, phase, BUDGET, 1, recipe.seed)
    with tempfile.TemporaryDirectory() as tmp:
        logs = RunLogs(JsonlLog(Path(tmp) / "m.jsonl"), JsonlLog(Path(tmp) / "s.jsonl"))
        job = PhaseJob(phase, recipe, encoded, plan, model_dir, Path(tmp) / "out", None)
        train_phase(job, tokenizer, Dist(0, 1, False), logs)
        rows = logs.metrics.rows()
    seconds = sum(r["step_s"] for r in rows)
    tokens = sum(r["tokens"] for r in rows)
    return {
        "tokens": tokens,
        "seconds": seconds,
        "padding": 0.0,
        "steps": len(rows),
        "fill": plan.fill,
    }


def run_hf(model_dir: Path, count: int, batch: int, lr: float) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    from seedtree.train.render import IGNORE

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = [
        {"input_ids": list(e.input_ids), "labels": [e.input_ids[0], *e.targets[:-1]]}
        for e in encoded_samples(tokenizer, count)
    ]
    for row in rows:  # labels[t] is the token at t when it is trained (HF shifts them itself)
        row["labels"][0] = IGNORE
    pad = tokenizer.pad_token_id

    def collate(batch_rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        width = max(len(r["input_ids"]) for r in batch_rows)
        ids = [r["input_ids"] + [pad] * (width - len(r["input_ids"])) for r in batch_rows]
        labels = [r["labels"] + [IGNORE] * (width - len(r["labels"])) for r in batch_rows]
        mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in batch_rows]
        return {
            "input_ids": torch.tensor(ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask),
        }

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=batch,
            num_train_epochs=1,
            learning_rate=lr,
            report_to=[],
            save_strategy="no",
            logging_strategy="no",
            use_cpu=True,
            disable_tqdm=True,
            seed=0,
        )
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collate)
        slots = sum(b["input_ids"].numel() for b in trainer.get_train_dataloader())
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    tokens = sum(len(r["input_ids"]) for r in rows)
    return {
        "tokens": tokens,
        "seconds": seconds,
        "padding": 1 - tokens / slots,
        "steps": -(-len(rows) // batch),
    }


def child(args: argparse.Namespace) -> int:
    from seedtree.models import resolve_model

    run = run_packed if args.child == "packed" else run_hf
    result = run(resolve_model("default"), args.samples, args.batch, args.lr)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("CHILD " + json.dumps(result))
    return 0


def measure(side: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        side,
        "--samples",
        str(args.samples),
        "--batch",
        str(args.batch),
        "--lr",
        str(args.lr),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("CHILD "))
    return dict(json.loads(line[len("CHILD ") :]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8, help="samples per optimizer step")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--child", choices=["packed", "hf"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    results = {side: measure(side, args) for side in ("hf", "packed")}
    print(f"{'side':8} {'tokens':>7} {'seconds':>8} {'tokens/s':>9} {'padding':>8} {'peak MiB':>9}")
    for side, r in results.items():
        r["tps"] = r["tokens"] / r["seconds"]
        print(
            f"{side:8} {r['tokens']:7d} {r['seconds']:8.1f} {r['tps']:9.1f} "
            f"{r['padding']:8.1%} {r['peak_mib']:9.0f}"
        )
    speedup = results["packed"]["tps"] / results["hf"]["tps"]
    padding = results["packed"]["padding"]
    print(f"packed budget fill: {results['packed']['fill']:.1%}")
    print(
        f"RESULT train_speedup_packed_vs_hf_trainer={speedup:.2f}x target=1.3x "
        f"{'ok' if speedup >= 1.3 else 'short'}"
    )
    verdict = "ok" if padding <= 0.05 else "short"
    print(f"RESULT train_padding_fraction={padding:.1%} target=5% {verdict}")
    print(f"RESULT train_hf_padding_fraction={results['hf']['padding']:.1%} target=info ok")
    print(
        f"RESULT train_peak_memory_mib={results['packed']['peak_mib']:.0f} "
        f"target<={results['hf']['peak_mib']:.0f} "
        f"{'ok' if results['packed']['peak_mib'] <= results['hf']['peak_mib'] * 1.1 else 'short'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
