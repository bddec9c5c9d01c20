"""Evaluation: held-out loss per leaf, seed answer log-likelihood, and forgetting.

After each phase (and once before training, as ``base``), every leaf is scored on its held-out
samples (mean cross-entropy per trained token, lower is better) and on its seed Q&A (mean answer
log-likelihood per token, higher is better). ``R[phase][leaf]`` is the held-out loss; leaves
learnt in earlier versions count as trained in ``base``. For a leaf last trained in phase ``p``:

- ``learning[leaf] = R[base][leaf] - R[p][leaf]`` (positive: the phase taught it),
- ``forgetting[leaf] = R[final][leaf] - min(R[q][leaf] for p <= q < final)`` (positive: forgot),
- ``backward_transfer = mean(R[p][leaf] - R[final][leaf])`` over leaves trained before the final
  phase (negative means forgetting, as in the continual-learning literature).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seedtree.atomic import write_json
from seedtree.samples import Record, Sample, parse_sample
from seedtree.train.engine import device
from seedtree.train.loop import load_model, load_tokenizer
from seedtree.train.packing import token_losses
from seedtree.train.render import Encoded, Renderer
from seedtree.train.sharing import shared_sums

BASE = "base"
TRAIN_INFO = "seedtree-train.json"


def _item_sums(model: Any, encoded: Sequence[Encoded], budget: int) -> list[float]:
    """The summed loss over the trained tokens of each encoded sample (packed, no gradients;
    samples that share a prompt score it once, :mod:`seedtree.train.sharing`)."""
    import torch

    dev = next(model.parameters()).device

    def losses(batch: dict[str, Any]) -> Any:
        with torch.no_grad():
            return token_losses(model, {k: v.to(dev) for k, v in batch.items()}, trained_only=True)

    return shared_sums(encoded, budget, losses)


def leaf_losses(model: Any, encoded: Sequence[Encoded], budget: int) -> dict[str, float]:
    """Mean loss per trained token of each leaf's samples (packed, no gradients)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for enc, total in zip(encoded, _item_sums(model, encoded, budget), strict=True):
        sums[enc.leaf] = sums.get(enc.leaf, 0.0) + total
        counts[enc.leaf] = counts.get(enc.leaf, 0) + enc.trained_tokens
    return {leaf: sums[leaf] / counts[leaf] for leaf in sorted(sums) if counts[leaf]}


def _per_item(encoded: Sequence[Encoded], sums: Sequence[float]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for enc, total in zip(encoded, sums, strict=True):
        out.setdefault(enc.leaf, {})[enc.sample_id] = total / enc.trained_tokens
    return {leaf: out[leaf] for leaf in sorted(out)}


def item_losses(model: Any, encoded: Sequence[Encoded], budget: int) -> dict[str, dict[str, float]]:
    """Per leaf, each sample's mean loss per answer token (``leaf -> sample id -> loss``)."""
    return _per_item(encoded, _item_sums(model, encoded, budget))


def seed_samples(seeds: Mapping[str, Sequence[tuple[str, str]]], system: str) -> list[Sample]:
    return [
        Sample(
            id=f"seed:{leaf}:{n}",
            leaf=leaf,
            leaf_hash="",
            kind="seed",
            length=None,
            system=system,
            user=q,
            assistant=a,
        )
        for leaf, pairs in seeds.items()
        for n, (q, a) in enumerate(pairs)
    ]


@dataclass(frozen=True)
class Scores:
    heldout_loss: dict[str, float]
    seed_loglik: dict[str, float]


def score_model(
    model: Any,
    renderer: Renderer,
    heldout: Mapping[str, Sequence[Sample]],
    seeds: Mapping[str, Sequence[tuple[str, str]]],
    budget: int,
) -> Scores:
    model.eval()
    held = renderer.encode_all(s for samples in heldout.values() for s in samples).encoded
    system = renderer.system_prompt or ""
    seed_enc = renderer.encode_all(seed_samples(seeds, system)).encoded
    seed_loss = leaf_losses(model, seed_enc, budget)
    return Scores(leaf_losses(model, held, budget), {k: -v for k, v in seed_loss.items()})


@dataclass(frozen=True)
class EvalMatrix:
    """``heldout_loss[phase][leaf]`` and ``seed_loglik[phase][leaf]``, phases in order."""

    phases: tuple[str, ...]
    heldout_loss: dict[str, dict[str, float]]
    seed_loglik: dict[str, dict[str, float]]
    trained_in: dict[str, str] = field(default_factory=dict)

    @property
    def leaves(self) -> list[str]:
        return sorted({leaf for row in self.heldout_loss.values() for leaf in row})

    def learning(self) -> dict[str, float]:
        base = self.heldout_loss.get(BASE, {})
        return {
            leaf: base[leaf] - self.heldout_loss[phase][leaf]
            for leaf, phase in self.trained_in.items()
            if phase != BASE and leaf in base and leaf in self.heldout_loss.get(phase, {})
        }

    def forgetting(self) -> dict[str, float]:
        final = self.phases[-1]
        out = {}
        for leaf, phase in self.trained_in.items():
            later = self.phases[self.phases.index(phase) : -1]
            best = [self.heldout_loss[q][leaf] for q in later if leaf in self.heldout_loss[q]]
            if phase != final and best and leaf in self.heldout_loss[final]:
                out[leaf] = self.heldout_loss[final][leaf] - min(best)
        return out

    def backward_transfer(self) -> float | None:
        final = self.phases[-1]
        diffs = [
            self.heldout_loss[p][leaf] - self.heldout_loss[final][leaf]
            for leaf, p in self.trained_in.items()
            if p != final and leaf in self.heldout_loss[p] and leaf in self.heldout_loss[final]
        ]
        return sum(diffs) / len(diffs) if diffs else None

    def to_json(self) -> dict[str, Any]:
        return {
            "phases": list(self.phases),
            "leaves": self.leaves,
            "heldout_loss": self.heldout_loss,
            "seed_loglik": self.seed_loglik,
            "trained_in": self.trained_in,
            "learning": self.learning(),
            "forgetting": self.forgetting(),
            "backward_transfer": self.backward_transfer(),
        }


def write_matrix(matrix: EvalMatrix, out_dir: Path) -> tuple[Path, Path]:
    """``eval.json`` and ``forgetting.png`` (held-out loss heatmap) in ``out_dir``."""
    json_path = out_dir / "eval.json"
    write_json(json_path, matrix.to_json())
    return json_path, plot_heatmap(matrix, out_dir / "forgetting.png")


def plot_heatmap(matrix: EvalMatrix, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leaves = matrix.leaves
    grid = [
        [matrix.heldout_loss[p].get(leaf, float("nan")) for leaf in leaves] for p in matrix.phases
    ]
    fig, ax = plt.subplots(figsize=(2 + 1.4 * max(1, len(leaves)), 1.5 + 0.6 * len(grid)))
    image = ax.imshow(grid, cmap="viridis_r", aspect="auto")
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            bright = image.norm(value) < 0.5  # low loss: light cell, dark text
            color = "black" if bright else "white"
            ax.text(c, r, f"{value:.2f}", ha="center", va="center", color=color, fontsize=8)
    labels = ["/".join(leaf.split("/")[-2:]) for leaf in leaves]
    ax.set_xticks(range(len(leaves)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(grid)), list(matrix.phases))
    ax.set_title("Held-out loss per leaf after each phase (R[phase][leaf])")
    fig.colorbar(image, ax=ax, label="loss")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _train_info(model_dir: Path) -> dict[str, Any]:
    path = model_dir / TRAIN_INFO
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


@dataclass(frozen=True)
class EvalModel:
    """A model loaded for scoring, with the renderer it was trained with.

    ``memo`` keeps what the model computed, by the exact tokens scored or prompt answered (packed
    scoring gives each sample its own positions and attention, and answers are greedy): a retrain
    scores the released candidate for the checkpoint choice and again in the evaluation, and
    answers a leaf's first seed question for the report and again for the judge; each once."""

    model: Any
    renderer: Renderer
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)


def scored_losses(
    loaded: EvalModel, encoded: Sequence[Encoded], budget: int
) -> dict[str, dict[str, float]]:
    """:func:`item_losses` under ``loaded``, scoring only the samples it has not scored yet."""
    keys = [("loss", enc.input_ids, enc.targets) for enc in encoded]
    missing = [i for i, key in enumerate(keys) if key not in loaded.memo]
    if missing:
        sums = _item_sums(loaded.model, [encoded[i] for i in missing], budget)
        loaded.memo.update((keys[i], total) for i, total in zip(missing, sums, strict=True))
    return _per_item(encoded, [loaded.memo[key] for key in keys])


@dataclass(frozen=True)
class ItemLosses:
    """``leaf -> item id -> mean loss per answer token`` on held-out samples and on seeds."""

    heldout: dict[str, dict[str, float]]
    seeds: dict[str, dict[str, float]]


def load_for_eval(
    model_dir: Path,
    *,
    template: str | None = None,
    system_prompt: str | None = None,
    max_seq_len: int = 4096,
) -> EvalModel:
    """The model in ``model_dir`` on the device, in eval mode, with its renderer.

    The template and system prompt default to those the model was trained with (its
    ``seedtree-train.json``), else the model's chat template and each sample's system message.
    """
    info = _train_info(model_dir)
    chosen: Literal["chat", "lab"] = (
        "lab" if (template or info.get("template")) == "lab" else "chat"
    )
    tokenizer = load_tokenizer(model_dir, chosen)
    prompt = system_prompt if system_prompt is not None else info.get("system_prompt")
    model = load_model(model_dir, len(tokenizer)).to(device())
    model.eval()
    return EvalModel(model, Renderer(tokenizer, chosen, prompt, max_seq_len))


def _as_samples(heldout: Mapping[str, Sequence[Sample | Record]]) -> dict[str, list[Sample]]:
    return {
        leaf: [
            s if isinstance(s, Sample) else parse_sample(s, f"{leaf}[{i}]", leaf)
            for i, s in enumerate(rows)
        ]
        for leaf, rows in heldout.items()
    }


def score_items(
    loaded: EvalModel,
    heldout: Mapping[str, Sequence[Sample | Record]],
    seeds: Mapping[str, Sequence[tuple[str, str]]],
    budget: int,
) -> ItemLosses:
    """Each held-out sample's and each seed Q&A's loss under ``loaded`` (paired by id)."""
    renderer = loaded.renderer
    samples = _as_samples(heldout)
    held = renderer.encode_all(s for rows in samples.values() for s in rows).encoded
    seed_enc = renderer.encode_all(seed_samples(seeds, renderer.system_prompt or "")).encoded
    return ItemLosses(scored_losses(loaded, held, budget), scored_losses(loaded, seed_enc, budget))


def evaluate_model(
    model_dir: Path,
    heldout: Mapping[str, Sequence[Sample | Record]],
    *,
    template: str | None = None,
    system_prompt: str | None = None,
    max_seq_len: int = 4096,
    token_budget: int = 4096,
) -> dict[str, float]:
    """Held-out loss per leaf of the model in ``model_dir`` (lower is better), rendered as in
    :func:`load_for_eval`."""
    loaded = load_for_eval(
        model_dir, template=template, system_prompt=system_prompt, max_seq_len=max_seq_len
    )
    budget = max(token_budget, max_seq_len)
    return score_model(loaded.model, loaded.renderer, _as_samples(heldout), {}, budget).heldout_loss
