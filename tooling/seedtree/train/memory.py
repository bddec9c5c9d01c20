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
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seedtree.errors import ConfigError, UsageError
from seedtree.train.recipe import Recipe

GB = 1e9
# a device is full before its last byte: CUDA context, communication buffers, fragmentation
USABLE_FRACTION = 0.9

Precision = Literal["bf16", "fp32"]
# under optimizer offload: two reduce buckets of 5e7 bf16 values (training/deepspeed/*-offload.json)
OFFLOAD_GRADIENT_BUFFERS = 2 * 5e7 * 2.0


@dataclass(frozen=True)
class ModelShape:
    params: int
    layers: int
    hidden: int
    vocab: int
    # parameters of the input embedding and (when not tied to it) the output head: QLoRA keeps
    # them in 16 bits (bitsandbytes quantises the linear layers of the blocks only)
    embedding: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Layout:
    """How the model is trained: ZeRO stage (None: the plain engine), ranks, precision."""

    stage: int | None
    world: int
    precision: Precision
    checkpointing: bool
    tokens: int  # per micro-batch
    adapter: int = 0  # parameters of a LoRA adapter (0: every weight trains)
    quantized: bool = False  # a 4-bit (NF4) frozen base: QLoRA
    offload_optimizer: bool = (
        False  # ZeRO-Offload: optimizer state (and fp32 gradients) on the host
    )
    offload_params: bool = False  # ZeRO-3: parameters on the host between uses


@dataclass(frozen=True)
class MemoryEstimate:
    layout: Layout
    weights: float  # bytes per device
    gradients: float
    optimizer: float
    activations: float
    logits: float
    host: float = 0.0  # bytes of host memory per rank at its peak (loading, or offloaded state)

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
        parts = [*self.parts(), ("total", self.total), ("host memory", self.host)]
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


def _frozen_base(shape: ModelShape, layout: Layout) -> float:
    """Bytes of a LoRA phase's frozen base weights on one device."""
    if layout.quantized:  # NF4: half a byte, plus double-quantised constants (0.127 bit)
        blocks = shape.params - shape.embedding
        return blocks * (0.5 + 0.127 / 8) + 2.0 * shape.embedding
    width = 2.0 if layout.precision == "bf16" else 4.0
    return width * shape.params / (max(1, layout.world) if layout.stage == 3 else 1)


def _device_state(shape: ModelShape, layout: Layout) -> tuple[float, float, float]:
    """Bytes of weights, gradients and optimizer state on one device (before any offload)."""
    if not layout.adapter:
        weights, grads, optim = _state_bytes(layout)
        return weights * shape.params, grads * shape.params, optim * shape.params
    weights, grads, optim = _state_bytes(layout)
    n = layout.adapter
    return _frozen_base(shape, layout) + weights * n, grads * n, optim * n


def _host_bytes(shape: ModelShape, layout: Layout, offloaded: float) -> float:
    """Peak host memory of a rank: loading the model, or the state offloaded to it."""
    width = 2.0 if layout.precision == "bf16" else 4.0
    if layout.quantized:  # quantised one tensor at a time as it loads
        load = 2.0 * shape.embedding
    elif layout.stage == 3:  # partitioned load (deepspeed.zero.Init): a shard per rank
        load = width * shape.params / max(1, layout.world)
    else:
        load = width * shape.params
    return max(load, offloaded)


def estimate_memory(shape: ModelShape, layout: Layout) -> MemoryEstimate:
    weights, grads, optim = _device_state(shape, layout)
    world = max(1, layout.world)
    host = 0.0
    trained = layout.adapter or shape.params
    if layout.offload_optimizer:
        # the optimizer steps on the host, where the fp32 gradient partitions are kept too; the
        # device keeps only the gradient buckets being reduced and copied out
        host += optim + 4.0 * trained / world
        optim = 0.0
        grads = min(grads, OFFLOAD_GRADIENT_BUFFERS)
    if layout.offload_params and layout.stage == 3:
        host += weights
        # what stays on the device: the prefetched weights of about two layers
        weights = 2 * 2.0 * shape.params / max(1, shape.layers)
    return MemoryEstimate(
        layout,
        weights,
        grads,
        optim,
        activation_bytes(shape, layout),
        logits_bytes(shape, layout),
        _host_bytes(shape, layout, host),
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
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    embedding = {id(m.weight): _numel(m.weight) for m in (inputs, outputs) if m is not None}
    return ModelShape(
        # a ZeRO-3 parameter holds its rank's shard; ds_numel is the whole tensor's size
        params=sum(_numel(p) for p in model.parameters()),
        layers=int(text.num_hidden_layers),
        hidden=int(text.hidden_size),
        vocab=int(text.vocab_size),
        embedding=sum(embedding.values()),
    )


def _numel(param: Any) -> int:
    # a ZeRO-3 parameter holds its rank's shard (ds_numel: the whole tensor's size); a 4-bit
    # bitsandbytes parameter packs two values a byte (its quant_state knows the real shape)
    quant = getattr(param, "quant_state", None)
    if quant is not None and getattr(quant, "shape", None) is not None:
        return int(math.prod(quant.shape))
    return int(getattr(param, "ds_numel", param.numel()))


def shape_of(config: Any) -> ModelShape:
    """The shape of a transformers config; parameters counted on the meta device (no memory)."""
    # torch and transformers are heavy: imported only when a shape is computed
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return shape_of_model(AutoModelForCausalLM.from_config(config))


def read_model_config(model_dir: Path) -> Any:
    """The transformers config of the HF-format model in ``model_dir`` (its ``config.json``)."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model_dir)
    except (OSError, ValueError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"model {model_dir}: cannot read its config.json: {exc}",
            hint="the model folder needs the config.json transformers wrote with it",
        ) from None


def model_shape(model_dir: Path) -> ModelShape:
    """The shape of the HF-format model in ``model_dir`` (reads its ``config.json`` only)."""
    return shape_of(read_model_config(model_dir))


def zero_stage(ds_config: dict[str, Any] | None) -> int | None:
    """The ZeRO stage of a DeepSpeed config (0 without ``zero_optimization``); None: plain."""
    if ds_config is None:
        return None
    return int(ds_config.get("zero_optimization", {}).get("stage", 0))
