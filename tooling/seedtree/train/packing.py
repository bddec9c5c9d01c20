"""Padding-free packing and the deterministic plan of a phase's optimizer steps.

Samples are packed into micro-batches of at most ``token_budget`` tokens: one row holding several
samples back to back, each with its own position ids (0, 1, ...). The model is run with
``position_ids`` and no attention mask, which makes transformers build a block-diagonal causal
mask: no token attends across samples (tests check a sample's logits are the same packed and
alone). Nothing is padded, so the padding fraction is zero; ``fill`` tells how full the budget is.

The plan is a pure function of the data, the recipe and the world size, so every rank computes
the same plan and a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seedtree.train.recipe import Phase
from seedtree.train.render import IGNORE, Encoded

OPEN_BINS = 64  # first-fit looks back at this many open micro-batches


@dataclass(frozen=True)
class Step:
    """One optimizer step: ``world * accum`` micro-batches (index tuples; ``()`` is empty)."""

    micro_batches: tuple[tuple[int, ...], ...]
    trained_tokens: int
    tokens: int

    def for_rank(self, rank: int, world: int) -> tuple[tuple[int, ...], ...]:
        return self.micro_batches[rank::world]

    def sample_indices(self) -> list[int]:
        return [i for mb in self.micro_batches for i in mb]


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    accum: int
    epochs: int
    fill: float  # tokens / (non-empty micro-batches * budget)
    epoch_ends: tuple[int, ...] = ()  # the optimizer steps that end an epoch (within the plan)


def first_fit(
    order: Sequence[int], sizes: Sequence[int], budget: int, max_items: int | None = None
) -> list[list[int]]:
    """Pack sample indices (in ``order``) into bins of at most ``budget`` tokens (and at most
    ``max_items`` samples)."""
    bins: list[list[int]] = []
    room: list[int] = []
    cap = max_items or len(order) or 1
    for i in order:
        size = sizes[i]
        start = max(0, len(bins) - OPEN_BINS)
        fits = (b for b in range(start, len(bins)) if room[b] >= size and len(bins[b]) < cap)
        target = next(fits, None)
        if target is None:
            bins.append([])
            room.append(budget)
            target = len(bins) - 1
        bins[target].append(i)
        room[target] -= size
    return bins


def _epoch_bins(sizes: Sequence[int], budget: int, seed: str, cap: int | None) -> list[list[int]]:
    order = list(range(len(sizes)))
    random.Random(seed).shuffle(order)
    return first_fit(order, sizes, budget, cap)


def _batching(sizes: Sequence[int], budget: int, batch: int, world: int) -> tuple[int, int | None]:
    """Micro-batches per rank per step, and a cap on samples per micro-batch: a step holds about
    ``batch`` samples even when one packed micro-batch could hold more."""
    bins = first_fit(range(len(sizes)), sizes, budget)
    per_bin = sum(len(b) for b in bins) / max(1, len(bins))
    if world * per_bin <= batch:
        return max(1, round(batch / (world * per_bin))), None
    return 1, max(1, -(-batch // world))


def _steps(bins: list[list[int]], per_step: int, encoded: Sequence[Encoded]) -> list[Step]:
    steps = []
    for start in range(0, len(bins), per_step):
        chunk = [tuple(b) for b in bins[start : start + per_step]]
        chunk += [()] * (per_step - len(chunk))
        idx = [i for mb in chunk for i in mb]
        steps.append(
            Step(
                micro_batches=tuple(chunk),
                trained_tokens=sum(encoded[i].trained_tokens for i in idx),
                tokens=sum(len(encoded[i]) for i in idx),
            )
        )
    return steps


def plan_phase(
    encoded: Sequence[Encoded], phase: Phase, budget: int, world: int, seed: int
) -> Plan:
    """Epochs of shuffled, packed micro-batches grouped into optimizer steps."""
    if not encoded:
        return Plan((), 1, 0, 0.0)
    sizes = [len(e) for e in encoded]
    accum, cap = _batching(sizes, budget, phase.effective_batch, world)
    epoch_bins = [_epoch_bins(sizes, budget, f"{seed}:{phase.name}:0", cap)]
    per_step = world * accum
    steps = _steps(epoch_bins[0], per_step, encoded)
    ends = [len(steps)]
    while len(epoch_bins) < phase.epochs or len(steps) < phase.min_steps:
        name = f"{seed}:{phase.name}:{len(epoch_bins)}"
        epoch_bins.append(_epoch_bins(sizes, budget, name, cap))
        steps += _steps(epoch_bins[-1], per_step, encoded)
        ends.append(len(steps))
    if phase.max_steps is not None:
        steps = steps[: phase.max_steps]
    n_bins = sum(1 for s in steps for mb in s.micro_batches if mb)
    fill = sum(s.tokens for s in steps) / max(1, n_bins * budget)
    kept = tuple(sorted({min(end, len(steps)) for end in ends}))
    return Plan(tuple(steps), accum, len(epoch_bins), fill, kept)


def candidate_steps(plan: Plan, checkpoints: int | None) -> tuple[int, ...]:
    """The optimizer steps after which the last phase saves a candidate model: ``checkpoints``
    of them evenly spaced, or (None) the end of each epoch; the plan's last step is always one."""
    total = len(plan.steps)
    if checkpoints is None:
        found = set(plan.epoch_ends)
    else:
        found = {round(total * k / checkpoints) for k in range(1, checkpoints + 1)}
    return tuple(sorted(s for s in found | {total} if 0 < s <= total))


def collate(encoded: Sequence[Encoded], indices: Sequence[int]) -> dict[str, Any]:
    """One packed row as tensors: input_ids, position_ids, targets (shape ``[1, T]``)."""
    import torch

    if not indices:  # an empty micro-batch still runs (every rank takes part in each step)
        zero = torch.zeros((1, 1), dtype=torch.long)
        return {"input_ids": zero, "position_ids": zero, "targets": torch.full_like(zero, IGNORE)}
    ids: list[int] = []
    pos: list[int] = []
    targets: list[int] = []
    for i in indices:
        ids += encoded[i].input_ids
        pos += range(len(encoded[i]))
        targets += encoded[i].targets
    return {
        "input_ids": torch.tensor([ids], dtype=torch.long),
        "position_ids": torch.tensor([pos], dtype=torch.long),
        "targets": torch.tensor([targets], dtype=torch.long),
    }


def token_losses(model: Any, batch: dict[str, Any], trained_only: bool = False) -> Any:
    """Per-token cross-entropy of one packed row (``IGNORE`` targets give 0), shape ``[T]``.

    ``trained_only`` (scoring, without gradients): the output layer runs only where a target is
    trained (``logits_to_keep``), since a chat sample's prompt needs no logits and the vocabulary
    projection is a fifth of a small model's forward pass. Training keeps the whole projection:
    its matrix products then have the shapes every earlier version trained with.
    """
    import torch
    import torch.nn.functional as F

    targets = batch["targets"][0]
    keep: Any = 0  # transformers' "every position"
    if trained_only:
        keep = (targets != IGNORE).nonzero().squeeze(1)
        if keep.numel() == 0:
            keep = torch.zeros(1, dtype=torch.long, device=targets.device)
    out = model(
        input_ids=batch["input_ids"],
        position_ids=batch["position_ids"],
        attention_mask=batch.get("attention_mask"),  # a row of shared prompts brings its own
        use_cache=False,
        logits_to_keep=keep,
    )
    logits = out.logits[0].float()
    if not trained_only:
        return F.cross_entropy(logits, targets, ignore_index=IGNORE, reduction="none")
    kept = F.cross_entropy(logits, targets[keep], ignore_index=IGNORE, reduction="none")
    return torch.zeros(targets.shape, dtype=kept.dtype, device=kept.device).index_copy(
        0, keep, kept
    )
