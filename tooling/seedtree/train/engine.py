"""The two ways a phase's model is stepped: one process with a torch optimizer, or DeepSpeed.

Both take the same per-micro-batch loss (already scaled so that the gradients of a step are those
of the mean loss over the step's trained tokens, on all ranks) and expose the same operations:
``micro_step``, ``boundary``, ``save_state``/``load_state`` (resumable), ``save_hf`` (HF-format
safetensors, from rank 0 only, parameters gathered under ZeRO-3).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from seedtree.atomic import write_text
from seedtree.errors import ConfigError, UsageError
from seedtree.train.adapters import (
    ADAPTER,
    full_precision_state,
    is_lora,
    load_resumable,
    merged_state,
    resumable_state,
    save_adapter,
)
from seedtree.train.recipe import Phase, Recipe

LATEST = "latest"


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    deepspeed: bool

    @property
    def main(self) -> bool:
        return self.rank == 0


def free_port() -> int:
    """A TCP port nothing listens on now (a rendezvous of one process group)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_distributed(use_deepspeed: bool) -> Dist:
    """Join the launcher's process group (torchrun / deepspeed), or form a group of one."""
    if not use_deepspeed:
        return Dist(0, 1, False)
    import deepspeed
    import torch

    if "RANK" not in os.environ:
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "gloo":
        # DeepSpeed's shared-memory collectives JIT-compile C++ on first use (about a minute on
        # a fresh machine); gloo does the same job for CPU training.
        deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
    deepspeed.init_distributed(dist_backend=backend, verbose=False)
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return Dist(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), True)


# what :func:`init_distributed` sets for a group of one, put back as it was when the group is left
_GROUP_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@contextlib.contextmanager
def distributed(use_deepspeed: bool) -> Iterator[Dist]:
    """The process group of one run (:func:`init_distributed`), left when the run ends.

    A group formed here is destroyed at the end: after a barrier when the run succeeded (every
    rank has written what it must), at once when it failed. Left to the interpreter's exit, the
    group's communication threads can abort the process after the work is done ("terminate
    called without an active exception"). A group the caller formed is the caller's to destroy.
    """
    if not use_deepspeed:
        yield Dist(0, 1, False)
        return
    import torch.distributed

    formed = not torch.distributed.is_initialized()
    env = {key: os.environ.get(key) for key in _GROUP_ENV}
    dist = init_distributed(True)
    failed = True
    try:
        yield dist
        if formed:
            barrier(dist)
        failed = False
    finally:
        if formed:
            # an error of the teardown must not hide the one that ended the run
            with contextlib.suppress(Exception) if failed else contextlib.nullcontext():
                leave_distributed()
            _restore_env(env)


def leave_distributed() -> None:
    """Destroy the process group, and DeepSpeed's references to it (a later run forms anew)."""
    import torch.distributed

    if torch.distributed.is_initialized():
        import deepspeed.comm

        deepspeed.comm.destroy_process_group()


def _restore_env(env: dict[str, str | None]) -> None:
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def barrier(dist: Dist) -> None:
    if dist.deepspeed:
        import torch.distributed

        torch.distributed.barrier()


def all_sum(dist: Dist, value: float) -> float:
    if not dist.deepspeed or dist.world == 1:
        return value
    import torch
    import torch.distributed

    t = torch.tensor([value], dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return float(t.item())


def device() -> Any:
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def _schedule(phase: Phase) -> Any:
    def factor(step: int) -> float:
        # constant learning rate after a linear warm-up (no decay between phases, as in LAB)
        return 1.0 if phase.warmup_steps == 0 else min(1.0, (step + 1) / phase.warmup_steps)

    return factor


def _optimizer(model: Any, phase: Phase, offload: bool = False) -> tuple[Any, Any]:
    import torch

    # a LoRA phase trains its adapter alone: the frozen base gets no optimizer state
    params = [p for p in model.parameters() if p.requires_grad]
    if offload:
        # ZeRO-Offload steps the optimizer on the host: DeepSpeed's vectorised CPU Adam (AdamW)
        from deepspeed.ops.adam import DeepSpeedCPUAdam

        opt = DeepSpeedCPUAdam(
            params, lr=phase.lr, weight_decay=phase.weight_decay, betas=(0.9, 0.95)
        )
    else:
        # the fused kernel (CPU and CUDA) steps a 135M-parameter model about 10x faster on a CPU
        opt = torch.optim.AdamW(
            params, lr=phase.lr, weight_decay=phase.weight_decay, betas=(0.9, 0.95), fused=True
        )
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, _schedule(phase))


def use_bf16(recipe: Recipe) -> bool:
    """bf16 compute when the recipe asks for it and CUDA is there; a CPU trains in fp32."""
    import torch

    return recipe.precision == "bf16" and torch.cuda.is_available()


def prepare_model(model: Any, recipe: Recipe) -> Any:
    """Switch on gradient checkpointing when the recipe asks for it (both engines call this)."""
    if recipe.gradient_checkpointing:
        # transformers 5 names it activation checkpointing (gradient_checkpointing_enable is its
        # deprecated alias). Non-reentrant: works under ZeRO-3's partitioned parameters and needs
        # no input that requires a gradient.
        model.activation_checkpointing_enable(
            activation_checkpointing_kwargs={"use_reentrant": False}
        )
        model.config.use_cache = False
    return model


def autocast_forward(model: Any, device_type: str = "cuda") -> Any:
    """``model`` run under bf16 autocast (the backward pass runs outside it, as torch advises)."""
    import torch

    def forward(*args: Any, **kwargs: Any) -> Any:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return model(*args, **kwargs)

    return forward


class Engine(Protocol):
    module: Any
    forward: Any  # what to call for a forward pass
    scale: float  # the factor a step's loss share is multiplied by before ``micro_step``

    def micro_step(self, loss: Any) -> None: ...
    def boundary(self) -> None: ...
    def lr(self) -> float: ...
    def save_state(self, folder: Path, client: dict[str, Any]) -> None: ...
    def load_state(self, folder: Path) -> dict[str, Any] | None: ...
    def save_hf(self, out: Path, tokenizer: Any) -> None: ...


class PlainEngine:
    """One process: AdamW, linear warm-up then constant, gradient clipping.

    Precision: with ``bf16`` on CUDA the weights, gradients and AdamW moments stay fp32 and the
    forward pass runs under bf16 autocast. Matrix products get bf16 tensor-core speed while every
    update is applied to fp32 weights (bf16 weights would round small updates away, lr * grad is
    often below bf16's resolution of 1/256 of a weight), with torch's fused AdamW unchanged and no
    loss scaling (bf16 has fp32's range). It costs 18 bytes per parameter against 16 for bf16
    weights with an fp32 master copy: a model that needs those 2 bytes belongs under DeepSpeed.
    """

    def __init__(
        self, model: Any, recipe: Recipe, phase: Phase, merge_base: Path | None = None
    ) -> None:
        self.module = prepare_model(model, recipe)
        self.merge_base = merge_base
        self.forward = autocast_forward(model) if use_bf16(recipe) else model
        self.scale = 1.0
        self.clip = recipe.grad_clip
        self.optimizer, self.scheduler = _optimizer(model, phase)

    def micro_step(self, loss: Any) -> None:
        loss.backward()

    def boundary(self) -> None:
        import torch

        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def lr(self) -> float:
        return float(self.scheduler.get_last_lr()[0])

    def save_state(self, folder: Path, client: dict[str, Any]) -> None:
        import torch

        tag = f"step{client['step']}"
        state = {
            "model": resumable_state(self.module),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "client": client,
        }
        tmp = folder / f".{tag}.pt.tmp"
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(state, tmp)
        os.replace(tmp, folder / f"{tag}.pt")
        _advance_latest(folder, tag, f"{tag}.pt")

    def load_state(self, folder: Path) -> dict[str, Any] | None:
        import torch

        tag = _latest(folder)
        if tag is None:
            return None
        path = folder / f"{tag}.pt"
        try:  # tensors and plain data only: loading a state can never run code
            state = torch.load(path, weights_only=True)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()[0]
            raise UsageError(
                f"{path}: not a training state saved by seedtree ({first})",
                hint=f"delete {folder} to train this phase from its start",
            ) from None
        load_resumable(self.module, state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        return dict(state["client"])

    def save_hf(self, out: Path, tokenizer: Any) -> None:
        _save_release(self.module, out, tokenizer, self.merge_base)


class DeepSpeedEngine:
    """DeepSpeed ZeRO (stage from the JSON config) with a torch optimizer and our schedule."""

    def __init__(
        self, model: Any, recipe: Recipe, phase: Phase, config: dict[str, Any], accum: int
    ) -> None:
        import deepspeed

        cfg = ds_config(config, recipe, accum)
        opt, sched = _optimizer(prepare_model(model, recipe), phase, offloads_optimizer(cfg))
        self.engine, _, _, _ = deepspeed.initialize(
            model=model, optimizer=opt, lr_scheduler=sched, config=cfg
        )
        self.module = self.engine.module
        self.forward = self.engine
        self.stage = int(cfg.get("zero_optimization", {}).get("stage", 0))
        self.scale = float(accum * self.engine.world_size)
        self.scheduler = sched

    def micro_step(self, loss: Any) -> None:
        self.engine.backward(loss)
        self.engine.step()

    def boundary(self) -> None:
        return None

    def lr(self) -> float:
        return float(self.engine.get_lr()[0])

    def save_state(self, folder: Path, client: dict[str, Any]) -> None:
        tag = f"step{client['step']}"
        self.engine.save_checkpoint(str(folder), tag=tag, client_state=client, save_latest=False)
        if self.engine.global_rank == 0:
            _advance_latest(folder, tag, tag)
        barrier(Dist(self.engine.global_rank, self.engine.world_size, True))

    def load_state(self, folder: Path) -> dict[str, Any] | None:
        tag = _latest(folder)
        if tag is None:
            return None
        path, client = self.engine.load_checkpoint(str(folder), tag=tag)
        if path is None:
            raise UsageError(f"{folder}: cannot load the resumable state {tag}")
        return dict(client)

    def save_hf(self, out: Path, tokenizer: Any) -> None:
        import deepspeed

        params = list(self.module.parameters())
        with deepspeed.zero.GatheredParameters(params, modifier_rank=None, enabled=self.stage == 3):
            if self.engine.global_rank == 0:
                _save_release(self.module, out, tokenizer)
        barrier(Dist(self.engine.global_rank, self.engine.world_size, True))


def ds_config(config: dict[str, Any], recipe: Recipe, accum: int) -> dict[str, Any]:
    """The DeepSpeed config for one phase: batch sizes, clipping and precision from the recipe."""
    cfg = {k: v for k, v in config.items() if k != "train_batch_size"}
    cfg["train_micro_batch_size_per_gpu"] = 1
    cfg["gradient_accumulation_steps"] = accum
    cfg["gradient_clipping"] = recipe.grad_clip or 0.0
    # DeepSpeed's bf16 mode: bf16 weights and gradients, fp32 master weights in the optimizer
    cfg["bf16"] = {"enabled": use_bf16(recipe)}
    cfg["fp16"] = {"enabled": False}
    cfg.setdefault("steps_per_print", 10**9)
    cfg.setdefault("wall_clock_breakdown", False)
    return cfg


@contextlib.contextmanager
def partitioned_loading(
    config: dict[str, Any] | None, recipe: Recipe, accum: int
) -> Iterator[None]:
    """Under ZeRO-3, models loaded inside are created partitioned (``deepspeed.zero.Init``).

    transformers' DeepSpeed integration sees the config while it is alive: each rank allocates
    its shard only, the weights are copied in one tensor at a time from rank 0's memory-mapped
    safetensors, and a vocabulary resize gathers the embedding rows it changes. Without it every
    rank would hold the whole model in host memory before DeepSpeed partitions it.
    """
    if config is None or int(config.get("zero_optimization", {}).get("stage", 0)) != 3:
        yield
        return
    from transformers.integrations.deepspeed import (
        HfDeepSpeedConfig,
        unset_hf_deepspeed_config,
    )

    keep = HfDeepSpeedConfig(ds_config(config, recipe, accum))
    try:
        yield
    finally:
        del keep
        unset_hf_deepspeed_config()


def offloads_optimizer(config: dict[str, Any]) -> bool:
    """Whether a DeepSpeed config keeps the optimizer state in host memory (ZeRO-Offload)."""
    zero = config.get("zero_optimization", {})
    return str(zero.get("offload_optimizer", {}).get("device", "none")) == "cpu"


def offloads_params(config: dict[str, Any]) -> bool:
    """Whether a ZeRO-3 config keeps the parameters in host memory between uses."""
    zero = config.get("zero_optimization", {})
    return str(zero.get("offload_param", {}).get("device", "none")) == "cpu"


def read_ds_config(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"DeepSpeed config {path}: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"DeepSpeed config {path}: expected a JSON object")
    return check_ds_config(value, str(path))


def check_ds_config(config: dict[str, Any], origin: str = "DeepSpeed config") -> dict[str, Any]:
    if "optimizer" in config or "scheduler" in config:
        raise ConfigError(
            f"{origin}: sets 'optimizer' or 'scheduler'; the training recipe owns them",
            hint="remove those sections from the DeepSpeed JSON",
        )
    return config


def _latest(folder: Path) -> str | None:
    path = folder / LATEST
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def _advance_latest(folder: Path, tag: str, entry: str) -> None:
    """Point ``latest`` at ``tag``, then remove older states (the new one is complete)."""
    write_text(folder / LATEST, tag + "\n")
    for old in folder.iterdir():
        if old.name not in (LATEST, entry) and not old.name.startswith("."):
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()


def _save_release(module: Any, out: Path, tokenizer: Any, merge_base: Path | None = None) -> None:
    """A full model folder; a LoRA module is saved merged, with its adapter in ``adapter/``.

    ``merge_base``: the model folder whose full-precision weights the adapter is merged into
    (QLoRA trained on a 4-bit copy of them); default: the module's own base weights.
    """
    if not is_lora(module):
        state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        _save_pretrained(module, state, out, tokenizer)
        return
    base = None if merge_base is None else full_precision_state(merge_base, len(tokenizer))
    merged = merged_state(module, base)
    _save_pretrained(
        module.get_base_model(), merged, out, tokenizer, lambda tmp: save_adapter(module, tmp)
    )


def _save_pretrained(
    module: Any,
    state: dict[str, Any],
    out: Path,
    tokenizer: Any,
    beside: Callable[[Path], None] | None = None,
) -> None:
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    module.save_pretrained(tmp, state_dict=state, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    if beside is not None:
        beside(tmp / ADAPTER)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
