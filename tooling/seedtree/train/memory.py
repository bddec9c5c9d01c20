"""How much memory one training rank needs: an estimate from the model's shape and the recipe.

Per device, for a model of ``P`` parameters, ``L`` layers, hidden size ``h``, vocabulary ``V`` and
micro-batches of ``s`` packed tokens (the recipe's ``token_budget``; one row per micro-batch):

* weights, gradients and optimizer state (AdamW), bytes per parameter (Rajbhandari et al. 2020,
  "ZeRO"): bf16 under DeepSpeed keeps bf16 weights (2) and gradients (2) and an fp32 master copy
  with the two moments (12); ZeRO stage 1 divides the optimizer state by the world size, stage 2
  the gradients too, stage 3 the weights too. The plain engine keeps fp32 weights (4), gradients
  (4) and moments (8); under bf16 autocast it also caches a bf16 copy of the weights (2).
  fp32 (a CPU) keeps 4 + 4 + 8.
* activations: ``34·s·h`` bytes per layer in bf16 (Korthikanti et al. 2022, "Reducing activation
  recomputation", with the attention-score term gone: SDPA's fused kernels do not store the
  ``s × s`` scores), twice that in fp32. With gradient checkpointing only each layer's input
  (``s·h`` elements) is kept, plus one layer's activations while it is recomputed.
* logits: ``s·V`` values in the compute dtype, their fp32 copy and log-softmax for the loss, and
  the fp32 gradient in the backward pass (14 bytes per token per vocabulary entry in bf16, 12 in
  fp32).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from seedtree.errors import ConfigError, UsageError
from seedtree.train.recipe import Recipe

GB = 1e9
# a device is full before its last byte: CUDA context, communication buffers, fragmentation
USABLE_FRACTION = 0.9

Precision = Literal["bf16", "fp32"]


@dataclass(frozen=True)
class ModelShape:
    params: int
    layers: int
    hidden: int
    vocab: int


@dataclass(frozen=True)
class Layout:
    """How the model is trained: ZeRO stage (None: the plain engine), ranks, precision."""

    stage: int | None
    world: int
    precision: Precision
    checkpointing: bool
    tokens: int  # per micro-batch


@dataclass(frozen=True)
class MemoryEstimate:
    layout: Layout
    weights: float  # bytes per device
    gradients: float
    optimizer: float
    activations: float
    logits: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations + self.logits

    def lines(self) -> list[str]:
        """The estimate as a user reads it, one part a line."""
        lay = self.layout
        engine = "plain engine" if lay.stage is None else f"DeepSpeed ZeRO-{lay.stage}"
        ckpt = "on" if lay.checkpointing else "off"
        head = (
            f"memory per device ({engine}, {lay.world} rank(s), {lay.precision}, "
            f"{lay.tokens} tokens per micro-batch, gradient checkpointing {ckpt}):"
        )
        parts = [*self.parts(), ("total", self.total)]
        return [head, *(f"  {name:<16}{value / GB:9.1f} GB" for name, value in parts)]

    def parts(self) -> list[tuple[str, float]]:
        return [
            ("weights", self.weights),
            ("gradients", self.gradients),
            ("optimizer state", self.optimizer),
            ("activations", self.activations),
            ("logits", self.logits),
        ]


def _state_bytes(layout: Layout) -> tuple[float, float, float]:
    """Bytes per parameter of weights, gradients and optimizer state on one device."""
    if layout.stage is None:
        cast = 2.0 if layout.precision == "bf16" else 0.0
        return 4.0 + cast, 4.0, 8.0
    weights, grads, optim = (2.0, 2.0, 12.0) if layout.precision == "bf16" else (4.0, 4.0, 8.0)
    world = max(1, layout.world)
    if layout.stage >= 1:
        optim /= world
    if layout.stage >= 2:
        grads /= world
    if layout.stage >= 3:
        weights /= world
    return weights, grads, optim


def activation_bytes(shape: ModelShape, layout: Layout) -> float:
    width = 2.0 if layout.precision == "bf16" else 4.0
    per_layer = 17.0 * width * layout.tokens * shape.hidden  # 34·s·h bytes in bf16
    if not layout.checkpointing:
        return shape.layers * per_layer
    return shape.layers * width * layout.tokens * shape.hidden + per_layer


def logits_bytes(shape: ModelShape, layout: Layout) -> float:
    per_value = 14.0 if layout.precision == "bf16" else 12.0
    return per_value * layout.tokens * shape.vocab


def estimate_memory(shape: ModelShape, layout: Layout) -> MemoryEstimate:
    weights, grads, optim = _state_bytes(layout)
    return MemoryEstimate(
        layout,
        weights * shape.params,
        grads * shape.params,
        optim * shape.params,
        activation_bytes(shape, layout),
        logits_bytes(shape, layout),
    )


def fits(estimate: MemoryEstimate, device_bytes: float) -> bool:
    return estimate.total <= USABLE_FRACTION * device_bytes


def advice(estimate: MemoryEstimate) -> str:
    """What would make a recipe fit, most effective first."""
    lay = estimate.layout
    ways = []
    if not lay.checkpointing and estimate.activations > estimate.total / 4:
        ways.append("set gradient_checkpointing: true in the recipe")
    if lay.stage is None or lay.stage < 3:
        ways.append("train under DeepSpeed ZeRO-3 (train.deepspeed: training/deepspeed/zero3.json)")
    ways += ["lower token_budget", "train on more GPUs (ZeRO divides the state by the ranks)"]
    return "; or ".join(ways)


def require_fit(estimate: MemoryEstimate, capacity: float, where: str) -> None:
    """Refuse, with the estimate, a recipe that cannot fit ``capacity`` bytes per device."""
    if fits(estimate, capacity):
        return
    usable = USABLE_FRACTION * capacity / GB
    lines = [
        f"the recipe does not fit {where}: it needs {estimate.total / GB:.1f} GB per device, "
        f"{usable:.1f} GB are usable",
        *estimate.lines(),
    ]
    raise UsageError("\n".join(lines), hint=advice(estimate))


def layout_for(
    recipe: Recipe, ds_config: dict[str, Any] | None, world: int, precision: Precision
) -> Layout:
    stage = zero_stage(ds_config)
    return Layout(stage, world, precision, recipe.gradient_checkpointing, recipe.token_budget)


def shape_of_model(model: Any) -> ModelShape:
    """The shape of a loaded transformers model (its parameters counted, not partitioned)."""
    config = model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return ModelShape(
        # a ZeRO-3 parameter holds its rank's shard; ds_numel is the whole tensor's size
        params=sum(int(getattr(p, "ds_numel", p.numel())) for p in model.parameters()),
        layers=int(text.num_hidden_layers),
        hidden=int(text.hidden_size),
        vocab=int(text.vocab_size),
    )


def shape_of(config: Any) -> ModelShape:
    """The shape of a transformers config; parameters counted on the meta device (no memory)."""
    # torch and transformers are heavy: imported only when a shape is computed
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return shape_of_model(AutoModelForCausalLM.from_config(config))


def model_shape(model_dir: Path) -> ModelShape:
    """The shape of the HF-format model in ``model_dir`` (reads its ``config.json`` only)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model_dir)
        return shape_of(config)
    except (OSError, ValueError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"model {model_dir}: cannot read its config.json: {exc}",
            hint="the model folder needs the config.json transformers wrote with it",
        ) from None


def zero_stage(ds_config: dict[str, Any] | None) -> int | None:
    """The ZeRO stage of a DeepSpeed config (0 without ``zero_optimization``); None: plain."""
    if ds_config is None:
        return None
    return int(ds_config.get("zero_optimization", {}).get("stage", 0))
