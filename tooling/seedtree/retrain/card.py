"""The model card: ``model/README.md`` of a released version, with Hugging Face YAML front matter.

It says what the folder is (base model, version and lineage, taxonomy commit), what it was taught
(every leaf with the licenses its ``attribution.txt`` declares, and sample counts), how it did
(held-out loss before and after, benchmarks) and the gate's decision. Leaf text and license
strings come from contributors: they are written as YAML values and escaped table cells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seedtree.atomic import write_text
from seedtree.models import DEFAULT_NAME
from seedtree.preview import mdsafe
from seedtree.taxonomy.leaves import ATTRIBUTION
from seedtree.validate.attribution import parse_attribution
from seedtree.versions.lineage import Lineage

CARD = "README.md"
DEFAULT_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
_MAX_ATTRIBUTION_BYTES = 64 * 1024
_MAX_CELL = 120


@dataclass(frozen=True)
class LeafRow:
    leaf: str
    licenses: str
    samples: int  # training samples in the version's data
    heldout: int
    loss_before: float | None
    loss_after: float | None


def leaf_licenses(taxonomy_root: Path, leaf: str) -> str:
    """The licenses ``attribution.txt`` declares (links and oversized files are not read)."""
    path = taxonomy_root / leaf / ATTRIBUTION
    if path.is_symlink() or not path.is_file():
        return "unknown (no attribution.txt)"
    if path.stat().st_size > _MAX_ATTRIBUTION_BYTES:
        return "unknown (attribution.txt too large)"
    text = path.read_text(encoding="utf-8", errors="replace")
    found = [e.fields["license of the work"][1] for e in parse_attribution(text)]
    named = sorted({value for value in found if value})
    return ", ".join(named) or "unknown (no license in attribution.txt)"


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def leaf_rows(lineage: Lineage, taxonomy_root: Path, version_dir: Path) -> list[LeafRow]:
    before = lineage.metrics.get("loss_before") or {}  # the keys of retrain.results.Metrics
    after = lineage.metrics.get("loss_after") or {}
    return [
        LeafRow(
            leaf=leaf,
            licenses=leaf_licenses(taxonomy_root, leaf),
            samples=_count_rows(version_dir / "data" / f"{leaf}.jsonl"),
            heldout=_count_rows(version_dir / "heldout" / f"{leaf}.jsonl"),
            loss_before=before.get(leaf),
            loss_after=after.get(leaf),
        )
        for leaf in sorted(lineage.leaves)
    ]


def front_matter(lineage: Lineage) -> dict[str, Any]:
    """The Hugging Face metadata block (plus a ``seedtree`` block with the lineage's keys)."""
    default = lineage.base_model == DEFAULT_NAME
    return {
        "base_model": DEFAULT_HUB_ID if default else lineage.base_model,
        "license": "apache-2.0" if default else "other",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["seedtree", "lab", "synthetic-data"],
        "seedtree": {
            "version": lineage.version,
            "previous": lineage.previous,
            "commit": lineage.commit,
            "data_hash": lineage.data_hash,
            "recipe_hash": lineage.recipe_hash,
            "gate_passed": lineage.gate.passed,
            "created_at": lineage.created_at,
        },
    }


def _cell(value: object) -> str:
    """Contributor text (a leaf's name, a license, a gate reason naming a leaf) as one line of
    inert Markdown: no link, image, mention, HTML or table break; bounded."""
    return mdsafe.inline(value, limit=_MAX_CELL)


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _leaf_table(rows: list[LeafRow], trained: dict[str, str]) -> list[str]:
    lines = ["| leaf | license | samples | held out | loss before | loss after | this version |"]
    lines.append("|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        mark = "trained" if r.leaf in trained else "replayed"
        cells = [_cell(r.leaf), _cell(r.licenses), str(r.samples), str(r.heldout)]
        cells += [_loss(r.loss_before), _loss(r.loss_after), mark]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _benchmark_lines(benchmarks: Any) -> list[str]:
    if not isinstance(benchmarks, dict) or not benchmarks:
        return ["No benchmark was run."]
    if "skipped" in benchmarks or "failed" in benchmarks:
        reason = benchmarks.get("skipped") or benchmarks.get("failed")
        return [f"Not measured: {_cell(reason)}"]
    lines = ["| task | metric | value |", "|---|---|---:|"]
    for task, values in sorted(benchmarks.items()):
        figures = values.items() if isinstance(values, dict) else ()
        for metric, value in sorted(figures):
            if isinstance(value, int | float) and not isinstance(value, bool):
                lines.append(f"| {_cell(task)} | {_cell(metric)} | {value:.4g} |")
    return lines


def _gate_lines(lineage: Lineage) -> list[str]:
    gate = lineage.gate
    lines = [f"**{'Passed' if gate.passed else 'Refused'}** (learning at least "]
    lines[0] += f"{gate.min_learning:.1%}, forgetting at most {gate.max_forgetting:.1%})."
    lines += [
        f"- {_cell(leaf)}: loss {'fell' if value > 0 else 'rose'} by {abs(value):.1%}"
        for leaf, value in gate.learned.items()
    ]
    lines += [f"- forgot {_cell(leaf)}: {value:+.1%}" for leaf, value in gate.forgotten.items()]
    lines += [f"- {_cell(reason)}" for reason in gate.reasons]
    if lineage.override is not None:
        o = lineage.override
        lines.append(f"- released by override of {_cell(o.who)} ({o.at}): {_cell(o.why)}")
    return lines


def _usage_lines(chat: dict[str, Any]) -> list[str]:
    system = chat.get("system_prompt")
    return [
        "The folder loads with `transformers` (`AutoModelForCausalLM`, `AutoTokenizer`; the chat",
        "template it was trained with is in `tokenizer_config.json`) and is what vLLM serves:",
        "",
        "```",
        "vllm serve <this folder>",
        "```",
        "",
        f"System prompt used in training: {_cell(system) if system else '(none)'}",
    ]


def render_card(lineage: Lineage, rows: list[LeafRow], chat: dict[str, Any]) -> str:
    block = front_matter(lineage)
    meta = yaml.safe_dump(block, sort_keys=False, allow_unicode=True)
    head = [f"# seedtree model {lineage.version}", ""]
    base = mdsafe.code_span(block["base_model"])
    head += [f"Fine-tuned from {base} with the LAB method on taxonomy"]
    head += [f"commit `{lineage.commit}`, starting from {lineage.previous or 'the base model'}."]
    samples = sum(r.samples for r in rows)
    head += ["", f"{len(rows)} leaves, {samples} training samples.", "", "## Leaves taught", ""]
    body = [*head, *_leaf_table(rows, lineage.trained), "", "## Benchmarks", ""]
    body += _benchmark_lines(lineage.metrics.get("benchmarks"))
    body += ["", "## Gate", "", *_gate_lines(lineage), "", "## Use", "", *_usage_lines(chat)]
    return f"---\n{meta}---\n\n" + "\n".join(body) + "\n"


def write_card(version_dir: Path, lineage: Lineage, taxonomy_root: Path) -> Path:
    """Write ``<version_dir>/model/README.md`` (the version's data, held-out and chat.json read)."""
    chat_file = version_dir / "chat.json"
    chat = json.loads(chat_file.read_text(encoding="utf-8")) if chat_file.is_file() else {}
    card = version_dir / "model" / CARD
    write_text(card, render_card(lineage, leaf_rows(lineage, taxonomy_root, version_dir), chat))
    return card
