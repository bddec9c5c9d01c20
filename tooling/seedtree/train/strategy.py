"""Which way of training fits the devices: full, full with offload, LoRA, QLoRA; and ``auto``.

For each strategy the memory estimate gives the bytes per rank on the GPU and in host memory; the
expected time of a micro-batch comes from its FLOPs on a reference GPU, plus the host work that
offload adds. ``auto`` takes the first strategy that fits, in the order listed: the same updates
as LAB's full fine-tuning first, then the lighter ones.

Step-time model (stated assumptions; ``bench/gpu.py`` measures the real figures on a GPU):

* a trained token costs ``6·P`` FLOPs (forward ``2·P``, backward ``4·P``), ``2·P`` more under
  gradient checkpointing; LoRA skips the base weights' gradients: ``4·P`` (+``2·P``);
* QLoRA dequantises its 4-bit weights in every product: LoRA's time × ``QLORA_SLOWDOWN``;
* the reference GPU runs at ``REFERENCE_FLOPS`` (an A100's 312 TFLOP/s at 40 % MFU);
* optimizer offload adds, per optimizer step, DeepSpeed's CPU Adam over the rank's share of the
  parameters at ``CPU_ADAM_PARAMS_PER_S`` and 4 bytes per parameter over PCIe (bf16 gradients
  down, bf16 weights up) at ``PCIE_BYTES_PER_S``; parameter offload moves the rank's share of
  the bf16 weights up once per pass (forward, backward, and recomputation) of every micro-batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from seedtree.errors import UsageError
from seedtree.train.devices import Machine, detect
from seedtree.train.memory import (
    GB,
    USABLE_FRACTION,
    Layout,
    MemoryEstimate,
    ModelShape,
    Precision,
    estimate_memory,
    layout_for,
    read_model_config,
    shape_of_model,
)
from seedtree.train.recipe import LoraSettings, Recipe

QLORA_SLOWDOWN = 1.3
REFERENCE_FLOPS = 312e12 * 0.4
CPU_ADAM_PARAMS_PER_S = 1e9
PCIE_BYTES_PER_S = 25e9
ORDER = ("full", "full+offload", "lora", "qlora")


@dataclass(frozen=True)
class Option:
    name: str
    estimate: MemoryEstimate
    micro_batch_s: float  # expected seconds of one micro-batch on the reference GPU
    step_host_s: float  # host work added per optimizer step (optimizer offload)
    fits_gpu: bool
    fits_host: bool
    needs: str  # what running it takes, beyond the recipe's strategy

    @property
    def fits(self) -> bool:
        return self.fits_gpu and self.fits_host


@dataclass(frozen=True)
class Devices:
    gpus: int
    gpu_bytes: float  # per GPU
    host_bytes: float  # of the whole node
    cuda: bool = True

    def host_per_rank(self) -> float:
        return self.host_bytes / max(1, self.gpus)


def layouts(base: Layout, adapter: int) -> dict[str, Layout]:
    """The layout of each strategy from the recipe's own (engine, ranks, precision, tokens)."""
    offload_stage = 3 if base.stage in (None, 0, 1, 3) else base.stage
    return {
        "full": base,
        "full+offload": replace(
            base,
            stage=offload_stage,
            offload_optimizer=True,
            offload_params=offload_stage == 3,
        ),
        "lora": replace(base, adapter=adapter),
        "qlora": replace(base, stage=None, adapter=adapter, quantized=True),
    }


def _passes(layout: Layout) -> float:
    return 3.0 if layout.checkpointing else 2.0


def micro_batch_seconds(shape: ModelShape, layout: Layout) -> float:
    """Expected time of one micro-batch of ``layout.tokens`` tokens on the reference GPU."""
    recompute = 2.0 if layout.checkpointing else 0.0
    per_param = (4.0 if layout.adapter else 6.0) + recompute
    seconds = per_param * shape.params * layout.tokens / REFERENCE_FLOPS
    if layout.quantized:
        seconds *= QLORA_SLOWDOWN
    if layout.offload_params and layout.stage == 3:
        share = 2.0 * shape.params / max(1, layout.world)
        seconds += _passes(layout) * share / PCIE_BYTES_PER_S
    return seconds


def step_host_seconds(shape: ModelShape, layout: Layout) -> float:
    if not layout.offload_optimizer:
        return 0.0
    share = (layout.adapter or shape.params) / max(1, layout.world)
    return share / CPU_ADAM_PARAMS_PER_S + 4.0 * share / PCIE_BYTES_PER_S


def _needs(name: str, layout: Layout, devices: Devices) -> str:
    if name == "qlora":
        return "the plain engine on CUDA" if devices.cuda else "CUDA (not on this machine)"
    if name == "full+offload":
        config = "zero3-offload" if layout.stage == 3 else "zero2-offload"
        return f"--deepspeed training/deepspeed/{config}.json"
    return ""


def options(shape: ModelShape, base: Layout, adapter: int, devices: Devices) -> list[Option]:
    """Every strategy for ``shape`` on ``devices``: memory per rank, expected time, fit."""
    found = []
    for name, layout in layouts(base, adapter).items():
        est = estimate_memory(shape, layout)
        found.append(
            Option(
                name=name,
                estimate=est,
                micro_batch_s=micro_batch_seconds(shape, layout),
                step_host_s=step_host_seconds(shape, layout),
                fits_gpu=est.total <= USABLE_FRACTION * devices.gpu_bytes
                and (name != "qlora" or devices.cuda),
                fits_host=est.host <= USABLE_FRACTION * devices.host_per_rank(),
                needs=_needs(name, layout, devices),
            )
        )
    return found


def pick(found: list[Option], offload: bool = True) -> Option | None:
    """The first strategy that fits, in ``ORDER``; None when none does. ``offload``: whether
    offload may be picked (it is DeepSpeed's: the plain engine cannot)."""
    return next((o for o in found if o.fits and (offload or o.name != "full+offload")), None)


def fit_text(option: Option) -> str:
    if option.fits:
        return "yes"
    return "no (host)" if option.fits_gpu else "no"


def table(found: list[Option]) -> list[str]:
    """The options as the estimate prints them (a fixed-width table)."""
    full = found[0].micro_batch_s
    lines = [
        f"  {'strategy':<14}{'GPU/rank':>10}{'host/rank':>11}{'micro-batch':>13}"
        f"{'+ per step':>12}  fits",
    ]
    for o in found:
        extra = f"{o.step_host_s:.1f} s" if o.step_host_s else "-"
        fits = fit_text(o)
        cost = f"{o.micro_batch_s / full:.2f}x"
        needs = f"  {o.needs}" if o.needs else ""
        lines.append(
            f"  {o.name:<14}{o.estimate.total / GB:>7.1f} GB{o.estimate.host / GB:>8.1f} GB"
            f"{cost:>13}{extra:>12}  {fits}{needs}"
        )
    return lines


def describe(
    found: list[Option], devices: Devices, shape: ModelShape, offload: bool = True
) -> list[str]:
    chosen = pick(found, offload)
    head = (
        f"strategies for {shape.params / 1e9:.2f}B parameters on {devices.gpus} x "
        f"{devices.gpu_bytes / GB:.0f} GB, host {devices.host_per_rank() / GB:.0f} GB per rank "
        f"(micro-batch time relative to full training, {found[0].micro_batch_s:.2f} s on the "
        "reference GPU):"
    )
    verdict = f"picks: {chosen.name}" if chosen else "picks: none fits (see the advice above)"
    return [head, *table(found), verdict]


def shape_and_adapter(config: Any, lora: LoraSettings) -> tuple[ModelShape, int]:
    """The shape of a transformers config and the size of ``lora``'s adapter on it (meta device)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return shape_of_model(model), adapter_params(model, lora.target_modules, lora.rank)


def folder_shape(model_dir: Path, lora: LoraSettings) -> tuple[ModelShape, int]:
    """:func:`shape_and_adapter` of the HF-format model in ``model_dir`` (its config.json)."""
    return shape_and_adapter(read_model_config(model_dir), lora)


def adapter_params(model: Any, target_modules: tuple[str, ...], rank: int) -> int:
    """Parameters a LoRA adapter of ``rank`` adds on the named linear layers of ``model``."""
    import torch

    total = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.rsplit(".", 1)[-1] in target_modules:
            total += rank * (module.in_features + module.out_features)
    return total


def strategies_of(recipe: Recipe) -> set[str]:
    """The strategies a recipe's phases train with (``auto`` included when left to the machine)."""
    return {p.training.strategy or recipe.strategy for p in recipe.phases}


def resolve_auto(
    recipe: Recipe, ds_config: dict[str, Any] | None, chosen: Option | None
) -> tuple[Recipe, dict[str, Any] | None]:
    """``recipe`` with ``strategy: auto`` replaced by ``chosen`` (offload goes into the config)."""
    if "auto" not in strategies_of(recipe):
        return recipe, ds_config
    if chosen is None:
        raise UsageError(
            "strategy auto: no strategy fits these devices (see `seedtree train --estimate`)",
            hint="lower token_budget, set gradient_checkpointing: true, or train on more GPUs",
        )
    if chosen.name == "full+offload" and ds_config is not None:
        zero = dict(ds_config.get("zero_optimization", {}))
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
        if int(zero.get("stage", 0)) == 3:
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
        ds_config = {**ds_config, "zero_optimization": zero}
    name = "full" if chosen.name == "full+offload" else chosen.name
    return recipe.model_copy(update={"strategy": name}), ds_config


def machine_devices(machine: Machine, world: int) -> Devices:
    """This machine as the estimate sees it: each rank's device (its RAM share without CUDA)."""
    return Devices(world, machine.capacity(world), float(machine.host_memory), bool(machine.cuda))


def machine_precision(recipe: Recipe, machine: Machine) -> Precision:
    return recipe.precision if machine.cuda else "fp32"


def choose(
    recipe: Recipe, ds_config: dict[str, Any] | None, model_dir: Path
) -> tuple[Recipe, dict[str, Any] | None]:
    """Resolve ``strategy: auto`` for this machine and ``$WORLD_SIZE`` ranks (else unchanged)."""
    if "auto" not in strategies_of(recipe):
        return recipe, ds_config
    machine = detect()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    shape, adapter = folder_shape(model_dir, recipe.lora)
    base = layout_for(recipe, ds_config, world, machine_precision(recipe, machine))
    found = options(shape, base, adapter, machine_devices(machine, world))
    return resolve_auto(recipe, ds_config, pick(found, ds_config is not None))


# --- the reference table of docs/train.md ---------------------------------------------------------

# Llama-2's shapes (the usual 7B and 13B students): layers, hidden, MLP, heads
REFERENCE_MODELS = {"7B": (32, 4096, 11008, 32), "13B": (40, 5120, 13824, 40)}
# (GPUs, GB per GPU, host GB of the node): host RAM as such machines usually come
REFERENCE_DEVICES = ((1, 24, 64), (1, 48, 128), (1, 80, 256), (8, 80, 2048))
TABLE_START = "<!-- strategy table: generated by python -m seedtree.train.strategy -->"
TABLE_END = "<!-- end of strategy table -->"


def reference_layout(gpus: int) -> Layout:
    """training/recipe.yaml on ``gpus`` GPUs under ZeRO-3 (its micro-batches, checkpointing)."""
    return Layout(3, gpus, "bf16", True, 16_384)


def _reference_shape(name: str) -> tuple[ModelShape, int]:
    from transformers import LlamaConfig

    layers, hidden, mlp, heads = REFERENCE_MODELS[name]
    config = LlamaConfig(
        hidden_size=hidden,
        intermediate_size=mlp,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        vocab_size=32_000,
    )
    return shape_and_adapter(config, LoraSettings())


def reference_table() -> str:
    """The markdown table of every strategy for 7B and 13B on the reference devices."""
    head = (
        "| model | GPUs | strategy | GPU/rank | host/rank | micro-batch | + per step | fits |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for name in REFERENCE_MODELS:
        shape, adapter = _reference_shape(name)
        for gpus, gb, host in REFERENCE_DEVICES:
            devices = Devices(gpus, gb * GB, host * GB)
            found = options(shape, reference_layout(gpus), adapter, devices)
            chosen = pick(found)
            for o in found:
                mark = "**picked**" if o is chosen else fit_text(o)
                extra = f"{o.step_host_s:.1f} s" if o.step_host_s else "-"
                rows.append(
                    f"| {name} | {gpus}×{gb} GB ({host} GB host) | {o.name} | "
                    f"{o.estimate.total / GB:.1f} GB | {o.estimate.host / GB:.1f} GB | "
                    f"{o.micro_batch_s:.1f} s | {extra} | {mark} |\n"
                )
    return TABLE_START + "\n" + head + "".join(rows) + TABLE_END


if __name__ == "__main__":  # rewrite the table in docs/train.md
    import sys

    page = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/train.md")
    text = page.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    page.write_text(text[:start] + reference_table() + text[end:], encoding="utf-8")
