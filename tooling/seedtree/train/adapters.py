"""LoRA adapters: wrap a model for a phase, keep its resumable state small, merge it for release.

A LoRA phase trains ``A`` and ``B`` of each target layer while the base weights stay frozen. What
the phase saves is always a full model (``W + (alpha/rank)·B·A`` merged into every target weight),
so that plain transformers and vLLM load it and the next phase or version starts from it; the
adapter itself is saved beside it in ``adapter/`` (PEFT's format, small).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from seedtree.errors import ConfigError, UsageError
from seedtree.train.recipe import LoraSettings

ADAPTER = "adapter"  # the folder, inside a phase's model folder, holding the phase's adapter
_PREFIX = "base_model.model."
_NAME = "default"  # PEFT's name of the one adapter


def wrap_lora(model: Any, settings: LoraSettings) -> Any:
    """``model`` with a fresh LoRA adapter on its target modules; only the adapter trains."""
    from peft import LoraConfig, get_peft_model

    head = model.get_output_embeddings()
    tied = head is not None and head.weight is model.get_input_embeddings().weight
    names = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if m is head}
    if tied and names & set(settings.target_modules):
        raise ConfigError(
            f"recipe lora.target_modules: {sorted(names)} is the output head, tied to the input "
            "embedding: its merged update would change the embedding too",
            hint="leave the output head out of target_modules",
        )
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        wrapped = get_peft_model(model, config)
    except ValueError as exc:
        raise ConfigError(
            f"recipe lora.target_modules {list(settings.target_modules)}: {exc}",
            hint="name linear layers of the student (e.g. q_proj, v_proj for Llama-style models)",
        ) from None
    # the adapter is saved without the runner's path of the model it was trained on
    wrapped.peft_config[_NAME].base_model_name_or_path = None
    return wrapped


def is_lora(model: Any) -> bool:
    return hasattr(model, "peft_config")


def trainable_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _lora_modules(model: Any) -> list[tuple[str, Any]]:
    from peft.tuners.lora import LoraLayer

    return [(n, m) for n, m in model.named_modules() if isinstance(m, LoraLayer)]


def _base_key(name: str) -> str:
    return name.removeprefix(_PREFIX).replace(".base_layer", "")


def base_state(model: Any) -> dict[str, Any]:
    """The base model's state dict (names as the plain model has them), adapter left out."""
    return {
        _base_key(k): v.detach().clone()
        for k, v in model.state_dict().items()
        if ".lora_" not in k and "lora_" not in k.rsplit(".", 1)[-1]
    }


def merged_state(model: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plain model's state with each adapter's ``(alpha/rank)·B·A`` added to its weight.

    ``base``: the full-precision weights to merge into (QLoRA, whose trained base is 4-bit);
    default: the wrapped model's own base weights.
    """
    import torch

    state = base_state(model) if base is None else base
    with torch.no_grad():
        for name, module in _lora_modules(model):
            key = _base_key(name) + ".weight"
            weight = state[key]
            delta = module.get_delta_weight(_NAME).float().to(weight.device)
            state[key] = (weight.float() + delta).to(weight.dtype)
    return state


def save_adapter(model: Any, folder: Path) -> None:
    """The adapter alone (PEFT's ``adapter_config.json`` and ``adapter_model.safetensors``)."""
    model.save_pretrained(folder, safe_serialization=True)


def resumable_state(model: Any) -> dict[str, Any]:
    """What a resumable checkpoint keeps of the model: the adapter alone under LoRA."""
    state = model.state_dict()
    if not is_lora(model):
        return dict(state)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v for k, v in state.items() if k in trained}


def load_resumable(model: Any, state: dict[str, Any]) -> None:
    if not is_lora(model):
        model.load_state_dict(state)
        return
    result = model.load_state_dict(state, strict=False)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    if result.unexpected_keys or trained & set(result.missing_keys):
        raise UsageError(
            "the saved training state does not match this phase's LoRA adapter "
            f"(missing {sorted(trained & set(result.missing_keys))[:3]}, "
            f"unexpected {result.unexpected_keys[:3]})",
            hint="the recipe's lora settings changed: delete the phase's state/ to start it over",
        )


def require_qlora_support(cuda: bool) -> None:
    """Refuse QLoRA where it cannot run: bitsandbytes' 4-bit kernels need CUDA."""
    if not cuda:
        raise UsageError(
            "strategy qlora needs a CUDA GPU: its 4-bit base (bitsandbytes) has no CPU kernels",
            hint="use strategy: lora on this machine, or train on a GPU runner",
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise UsageError(
            "strategy qlora needs the bitsandbytes package",
            hint="pip install 'seedtree[gpu]' (or pip install bitsandbytes)",
        )


def load_quantized(model_dir: Path, vocab_size: int) -> Any:
    """The base in 4-bit NF4 with double quantisation and bf16 compute (Dettmers et al. 2023)."""
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, quantization_config=quant, dtype=torch.bfloat16, device_map={"": 0}
    )
    if model.get_input_embeddings().weight.shape[0] < vocab_size:
        model.resize_token_embeddings(vocab_size)
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


def full_precision_state(model_dir: Path, vocab_size: int) -> dict[str, Any]:
    """The bf16 weights of ``model_dir`` on the host (what a QLoRA adapter is merged into)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
    if model.get_input_embeddings().weight.shape[0] < vocab_size:
        model.resize_token_embeddings(vocab_size)
    return dict(model.state_dict())
