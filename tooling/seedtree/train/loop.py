"""The training loop: one ``train_phase()`` serves every phase, on one process or DeepSpeed.

A phase reads top to bottom: load the model it starts from, build the engine, resume from the
latest saved state if there is one, run the planned optimizer steps (saving the full state every
``checkpoint_every`` steps), then save the model in HF format (safetensors).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedtree.errors import UsageError
from seedtree.train.adapters import is_lora, load_quantized, require_qlora_support, wrap_lora
from seedtree.train.engine import (
    DeepSpeedEngine,
    Dist,
    Engine,
    PlainEngine,
    all_sum,
    device,
    partitioned_loading,
    use_bf16,
)
from seedtree.train.flops import Throughput, flops_per_token, throughput
from seedtree.train.memory import ModelShape, shape_of_model
from seedtree.train.metrics import JsonlLog
from seedtree.train.packing import Plan, Step, collate, token_losses
from seedtree.train.recipe import Phase, Recipe
from seedtree.train.render import Encoded, add_lab_tokens

OnStep = Callable[[str, int, int, dict[str, Any]], None]


@dataclass(frozen=True)
class PhaseJob:
    """Everything one phase needs; ``out`` receives ``model/`` and ``state/``."""

    phase: Phase
    recipe: Recipe
    encoded: Sequence[Encoded]
    plan: Plan
    from_model: Path
    out: Path
    ds_config: dict[str, Any] | None
    earlier_phases: tuple[str, ...] = ()
    # optimizer steps after which a candidate model is saved in ``out/candidates/`` (the last
    # phase's; the model saved at the end is the last candidate)
    candidates: tuple[int, ...] = ()


@dataclass(frozen=True)
class PhaseResult:
    model: Path  # the HF-format folder saved
    throughput: Throughput | None  # over the steps this process ran (None: it ran none)


@dataclass
class _Meter:
    """Tokens and seconds of the steps run so far, and what MFU needs to know about them."""

    shape: ModelShape
    device_name: str | None
    devices: int
    adapter: bool = False  # a LoRA phase (fewer FLOPs per token)
    tokens: int = 0
    seconds: float = 0.0
    flops: float = 0.0

    def add(self, step: Step, seconds: float) -> Throughput:
        context = step.tokens / max(1, len(step.sample_indices()))
        per_token = flops_per_token(self.shape, context, self.adapter)
        self.tokens += step.tokens
        self.seconds += seconds
        self.flops += per_token * step.tokens
        return throughput(step.tokens, seconds, per_token, self.device_name, self.devices)

    def total(self) -> Throughput | None:
        if not self.tokens:
            return None
        per_token = self.flops / self.tokens
        return throughput(self.tokens, self.seconds, per_token, self.device_name, self.devices)


def _meter(model: Any, dist: Dist) -> _Meter:
    import torch

    name = torch.cuda.get_device_name(device()) if torch.cuda.is_available() else None
    return _Meter(shape_of_model(model), name, dist.world, is_lora(model))


@dataclass(frozen=True)
class RunLogs:
    metrics: JsonlLog
    samples: JsonlLog


def _quiet_transformers() -> None:
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def load_tokenizer(model_dir: Path, template: str) -> Any:
    from transformers import AutoTokenizer

    _quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if template == "lab":
        add_lab_tokens(tokenizer)
    return tokenizer


def load_model(model_dir: Path, vocab_size: int, bf16: bool = False) -> Any:
    """An HF causal LM in fp32 (``bf16``: bf16) with SDPA attention (honours packed positions)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="sdpa", dtype=dtype)
    if model.get_input_embeddings().weight.shape[0] < vocab_size:
        model.resize_token_embeddings(vocab_size)
        _partition_resized(model)
    return model


def _partition_resized(model: Any) -> None:
    """Under ZeRO-3 (inside :func:`~seedtree.train.engine.partitioned_loading`), partition the
    embedding a vocabulary resize made: transformers builds it whole on every rank."""
    from transformers.integrations.deepspeed import deepspeed_config, is_deepspeed_zero3_enabled

    if not is_deepspeed_zero3_enabled():
        return
    import deepspeed

    for layer in (model.get_input_embeddings(), model.get_output_embeddings()):
        if layer is not None and not hasattr(layer.weight, "ds_id"):  # a tied head is done
            deepspeed.zero.Init(module=layer, config_dict_or_path=deepspeed_config())


def load_student(job: PhaseJob, vocab_size: int) -> Any:
    """The model a phase trains: the whole model, or the model wrapped with a LoRA adapter."""
    import torch

    strategy = job.recipe.strategy_of(job.phase)
    lora = job.recipe.lora_of(job.phase)
    if lora is not None:  # the adapter's initial A is random: the same in every run and rank
        torch.manual_seed(job.recipe.seed + len(job.earlier_phases))
    if strategy == "qlora" and lora is not None:
        require_qlora_support(torch.cuda.is_available())
        if job.ds_config is not None:
            raise UsageError(
                "strategy qlora trains on one GPU with the plain engine, not under DeepSpeed",
                hint="drop --deepspeed, or use strategy lora (or full) with DeepSpeed",
            )
        return wrap_lora(load_quantized(job.from_model, vocab_size), lora)
    # DeepSpeed's bf16 mode casts the weights to bf16 (its fp32 master copy is made from them),
    # and a LoRA base is frozen: loading them in bf16 is the same model in half the memory
    bf16 = use_bf16(job.recipe) and (job.ds_config is not None or lora is not None)
    with partitioned_loading(job.ds_config, job.recipe, job.plan.accum):
        model = load_model(job.from_model, vocab_size, bf16)
        return model if lora is None else wrap_lora(model, lora)


def _engine(job: PhaseJob, model: Any) -> Engine:
    if job.ds_config is None:
        if job.recipe.strategy_of(job.phase) == "qlora":  # loaded on its GPU, 4-bit
            return PlainEngine(model, job.recipe, job.phase, merge_base=job.from_model)
        return PlainEngine(model.to(device()), job.recipe, job.phase)
    with partitioned_loading(job.ds_config, job.recipe, job.plan.accum):
        return DeepSpeedEngine(model, job.recipe, job.phase, job.ds_config, job.plan.accum)


def _run_step(engine: Engine, job: PhaseJob, step: Step, dist: Dist) -> float:
    """Forward and backward the rank's micro-batches; the step's mean loss over all ranks."""
    dev = device()
    loss_sum = 0.0
    for indices in step.for_rank(dist.rank, dist.world):
        batch = {k: v.to(dev) for k, v in collate(job.encoded, indices).items()}
        loss = token_losses(engine.forward, batch).sum()
        engine.micro_step(loss * (engine.scale / max(1, step.trained_tokens)))
        loss_sum += float(loss.item())
    engine.boundary()
    return all_sum(dist, loss_sum) / max(1, step.trained_tokens)


def _rng_state() -> dict[str, Any]:
    import torch

    return {"torch": torch.get_rng_state(), "python": random.getstate()}


def _restore(engine: Engine, job: PhaseJob, dist: Dist, logs: RunLogs) -> int:
    """Load the latest saved state of this phase; cut the logs back to it. The step to run."""
    import torch

    client = engine.load_state(job.out / "state")
    start = int(client["step"]) if client else 0
    if client:
        torch.set_rng_state(client["rng"]["torch"])
        random.setstate(client["rng"]["python"])
    if dist.main:
        for log in (logs.metrics, logs.samples):
            log.cut(list(job.earlier_phases), job.phase.name, start)
    return start


def _step_row(
    job: PhaseJob, number: int, step: Step, loss: float, lr: float, secs: float, speed: Throughput
) -> dict[str, Any]:
    return {
        "phase": job.phase.name,
        "step": number,
        "loss": loss,
        "lr": lr,
        "tokens": step.tokens,
        "trained_tokens": step.trained_tokens,
        "tokens_per_s": speed.tokens_per_s,
        "mfu": speed.mfu,
        "padding_fraction": 0.0,
        "fill": job.plan.fill,
        "samples": len(step.sample_indices()),
        "step_s": secs,
    }


def candidate_dir(out: Path, step: int) -> Path:
    return out / "candidates" / f"step-{step:06d}"


def save_candidate(engine: Engine, job: PhaseJob, step: int, tokenizer: Any) -> None:
    """After a candidate step short of the last, the model as it is then (every rank takes part:
    under ZeRO-3 the weights are gathered)."""
    if step in job.candidates and step < len(job.plan.steps):
        engine.save_hf(candidate_dir(job.out, step), tokenizer)


def train_phase(
    job: PhaseJob, tokenizer: Any, dist: Dist, logs: RunLogs, on_step: OnStep | None = None
) -> PhaseResult:
    """Train one phase from ``job.from_model``; the HF-format model folder it saved, its speed."""
    model = load_student(job, len(tokenizer))
    model.train()
    meter = _meter(model, dist)
    engine = _engine(job, model)
    start = _restore(engine, job, dist, logs)
    total = len(job.plan.steps)
    every = job.recipe.checkpoint_every
    for index in range(start, total):
        step = job.plan.steps[index]
        began = time.perf_counter()
        lr = engine.lr()
        loss = _run_step(engine, job, step, dist)
        secs = time.perf_counter() - began
        row = _step_row(job, index + 1, step, loss, lr, secs, meter.add(step, secs))
        if dist.main:
            logs.metrics.append(row)
            ids = [job.encoded[i].sample_id for i in step.sample_indices()]
            logs.samples.append({"phase": job.phase.name, "step": index + 1, "ids": ids})
        if on_step is not None:
            on_step(job.phase.name, index + 1, total, row)
        save_candidate(engine, job, index + 1, tokenizer)
        if every and (index + 1) % every == 0 and index + 1 < total:
            engine.save_state(job.out / "state", {"step": index + 1, "rng": _rng_state()})
    engine.save_hf(job.out / "model", tokenizer)
    return PhaseResult(job.out / "model", meter.total())
