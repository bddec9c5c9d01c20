"""GPU runner benchmarks, for a maintainer to run on the runner (CUDA required; about 5 minutes).

1. generation: the in-process vLLM backend generates for every leaf of the sample taxonomy (a
   temporary git copy, a fresh ``$SEEDTREE_HOME``); baseline in the same run: the embedded
   (transformers) backend on the same GPU, same model and settings. Target: vLLM makes samples
   at least 3 times as fast.
2. training: 50 optimizer steps of DeepSpeed ZeRO-3 in bf16 on a 1.3B-parameter Llama built from a
   config (random weights, the SmolLM2 tokenizer; nothing is downloaded), under torchrun on every
   visible GPU, with gradient checkpointing, 8192-token micro-batches. Baseline in the same run:
   the TFLOP/s of a large bf16 matrix product on this GPU. Figures: tokens per second, MFU against
   the data-sheet peak (target 35%) and against the measured matrix-product rate.

3. adapters: a LoRA and a QLoRA phase (rank 16 on every projection) of a 7B Llama-2-shaped model
   built from a config (random bf16 weights, written once to a temporary folder: 13.5 GB of disk),
   on one GPU with the plain engine, gradient checkpointing, 4096-token micro-batches. Figures:
   tokens per second and MFU (LoRA's model FLOPs are ``4·P`` per token: no gradients of frozen
   weights), to check the time model of ``seedtree.train.strategy``.

Without CUDA it prints one line saying so and exits 0.

Run: ``.venv/bin/python bench/gpu.py [--skip-generate] [--steps 50]``. Ends with RESULT lines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from generate import make_repo, result  # bench/generate.py, beside this script

ROOT = Path(__file__).resolve().parent.parent

WORDS = ("the", "tide", "moon", "sea", "water", "shore", "pull", "rise", "fall", "wave", "orbit")
MFU_TARGET = 0.35
SPEEDUP_TARGET = 3.0


def samples_per_minute(backend: str, samples: int, max_tokens: int) -> float:
    """Accepted samples per minute of generation over the sample taxonomy with one backend."""
    from seedtree.config import GenerateConfig
    from seedtree.generate.chunking import token_counter
    from seedtree.generate.run import generate_leaves
    from seedtree.models import resolve_model
    from seedtree.taxonomy.leaves import load_taxonomy
    from seedtree.teacher.embedded import EmbeddedTeacher
    from seedtree.teacher.vllm import VLLMTeacher

    config = GenerateConfig(samples_per_leaf=samples, max_tokens=max_tokens)
    with tempfile.TemporaryDirectory(prefix=f"seedtree-bench-gpu-{backend}-") as tmp:
        os.environ["SEEDTREE_HOME"] = str(Path(tmp) / "home")
        repo = make_repo(Path(tmp))
        leaves = load_taxonomy(repo / "taxonomy")
        count = token_counter(config.tokenizer)
        model = resolve_model("default")
        teacher: Any = (
            VLLMTeacher(str(model)) if backend == "vllm" else EmbeddedTeacher(model, batch_size=64)
        )
        started = time.perf_counter()
        report = generate_leaves(
            leaves, teacher, repo_root=repo, config=config, quiet=True, tokenizer=count
        )
        wall = time.perf_counter() - started
        teacher.close()
    print(f"{backend}: {report.samples} samples in {wall:.1f} s")
    return report.samples / (wall / 60)


def bench_generation(samples: int, max_tokens: int) -> None:
    embedded = samples_per_minute("embedded", samples, max_tokens)
    vllm = samples_per_minute("vllm", samples, max_tokens)
    result("embedded_samples_per_minute", embedded, "baseline", True)
    fast_enough = vllm >= SPEEDUP_TARGET * embedded
    result("vllm_samples_per_minute", vllm, f"{SPEEDUP_TARGET:g}x baseline", fast_enough)


def matmul_tflops() -> float:
    """The rate of a large bf16 matrix product on this GPU (the achievable peak, roughly)."""
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        a @ b
    torch.cuda.synchronize()
    return 2 * 8192**3 * runs / (time.perf_counter() - started) / 1e12


# (layers, hidden, MLP, heads) of the models built from a config
SHAPES = {"1.3B": (24, 2048, 5504, 16), "7B": (32, 4096, 11008, 32)}


def build_model(out: Path, size: str = "1.3B") -> Path:
    """A Llama of ``size`` with random bf16 weights and the embedded model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from seedtree.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("default"))
    layers, hidden, mlp, heads = SHAPES[size]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=mlp,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    # built in bf16 directly: a 7B model in fp32 would need 27 GB of host memory first
    LlamaForCausalLM._from_config(config, dtype=torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def write_data(folder: Path, count: int) -> Path:
    """Knowledge samples with answers of a few hundred to about 1500 tokens."""
    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        answer = " ".join(rng.choice(WORDS) for _ in range(rng.randint(300, 1500)))
        messages = [
            {"role": "user", "content": f"Tell me about tides, part {i}."},
            {"role": "assistant", "content": answer},
        ]
        meta = {"leaf": "knowledge/tides", "leaf_hash": "h", "kind": "knowledge"}
        rows.append(json.dumps({"id": f"t{i}", "messages": messages, "metadata": meta}))
    (folder / "tides.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def write_recipe(
    path: Path, steps: int, gpus: int, strategy: str = "full", tokens: int = 8192
) -> Path:
    phase = {
        "name": "bench",
        "select": {},
        "lr": 1e-5,
        "warmup_steps": 5,
        "effective_batch": 8 * gpus,
        "min_steps": steps,
        "max_steps": steps,
    }
    recipe = {
        "max_seq_len": 2048,
        "token_budget": tokens,
        "strategy": strategy,
        "precision": "bf16",
        "gradient_checkpointing": True,
        "checkpoint_every": 0,
        "heldout": {"fraction": 0.02, "min_per_leaf": 1},
        "phases": [phase],
    }
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def bench_training(steps: int) -> None:
    import torch

    from seedtree.train.flops import peak_flops

    gpus = torch.cuda.device_count()
    baseline = matmul_tflops()
    result("bf16_matmul_tflops", baseline, "baseline", True)
    with tempfile.TemporaryDirectory(prefix="seedtree-bench-gpu-train-") as tmp:
        work = Path(tmp)
        model = build_model(work / "model")
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(gpus)]
        command += ["-m", "seedtree", "train", "--data", str(write_data(work / "data", 200))]
        command += ["--from", str(model), "--out", str(work / "out"), "--quiet"]
        command += ["--recipe", str(write_recipe(work / "recipe.yaml", steps, gpus))]
        command += ["--deepspeed", str(ROOT / "training" / "deepspeed" / "zero3.json")]
        subprocess.run(command, check=True, cwd=ROOT)
        summary = json.loads((work / "out" / "summary.json").read_text(encoding="utf-8"))
    phase = summary["phases"][0]
    mfu = phase["mfu"]
    print(f"{gpus} x {torch.cuda.get_device_name(0)}: {phase['steps']} steps")
    result("train_tokens_per_s", phase["tokens_per_s"], "report", True)
    if mfu is None:
        print("MFU: this GPU is not in seedtree.train.flops.PEAK_BF16_TFLOPS")
        return
    result("train_mfu", mfu * 100, f"{MFU_TARGET:.0%}", mfu >= MFU_TARGET, "%")
    per_gpu = mfu * (peak_flops(torch.cuda.get_device_name(0)) or 0.0) / 1e12
    result("train_tflops_per_gpu", per_gpu, "report", True)
    result("train_share_of_matmul_rate", per_gpu / baseline * 100, "report", True, "%")


def bench_adapters(steps: int) -> None:
    """LoRA and QLoRA phases of a 7B model on one GPU: tokens/s and MFU of each."""
    with tempfile.TemporaryDirectory(prefix="seedtree-bench-gpu-lora-") as tmp:
        work = Path(tmp)
        model = build_model(work / "model", "7B")
        data = write_data(work / "data", 100)
        for strategy in ("lora", "qlora"):
            out = work / f"out-{strategy}"
            recipe = write_recipe(work / f"{strategy}.yaml", steps, 1, strategy, tokens=4096)
            command = [sys.executable, "-m", "seedtree", "train", "--data", str(data)]
            command += ["--from", str(model), "--out", str(out), "--quiet"]
            command += ["--recipe", str(recipe)]
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0"}
            subprocess.run(command, check=True, cwd=ROOT, env=env)
            phase = json.loads((out / "summary.json").read_text(encoding="utf-8"))["phases"][0]
            result(f"{strategy}_7b_tokens_per_s", phase["tokens_per_s"], "report", True)
            if phase["mfu"] is not None:
                mfu = phase["mfu"]
                result(f"{strategy}_7b_mfu", mfu * 100, f"{MFU_TARGET:.0%}", mfu >= MFU_TARGET, "%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=20, help="samples per leaf (generation)")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--skip-adapters", action="store_true", help="no 7B LoRA/QLoRA steps")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("bench/gpu.py: no CUDA device here; it measures GPU generation and training only")
        return
    if not args.skip_generate:
        bench_generation(args.samples, args.max_tokens)
    bench_training(args.steps)
    if not args.skip_adapters:
        bench_adapters(args.steps)


if __name__ == "__main__":
    main()
