"""General ability before and after: the same benchmark items for the previous and the new model.

The harness runs on the new model with each item's score kept (``benchmark_items.json`` in the
version's artifacts). The previous model's item scores are read from its version's artifacts when
they were recorded with the same task versions and cover the same items, and the harness runs on
the previous model again otherwise (the base model, a changed task). Per task, the change of its
primary metric (``acc``, or ``exact_match`` for generation tasks such as GSM8K) is paired per item,
with a bootstrap interval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedtree.config import RetrainConfig
from seedtree.evaluation.benchmarks import run_benchmarks
from seedtree.evaluation.branch_results import Scored, scored

ITEMS_FILE = "benchmark_items.json"


@dataclass(frozen=True)
class General:
    figures: dict[str, Any]  # the new model's harness figures (or why there are none)
    changes: dict[str, Scored] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _read(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _reusable(recorded: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """The previous version's items hold every task, at the same version and items."""
    for task, new in after.items():
        old = recorded.get(task)
        if not old or old["version"] != new["version"] or old["metric"] != new["metric"]:
            return False
        if not set(new["items"]) <= set(old["items"]):
            return False
    return True


def paired_tasks(
    before: Mapping[str, Any], after: Mapping[str, Any], settings: RetrainConfig
) -> dict[str, Scored]:
    """Per task present in both, its primary metric before and after on the same items."""
    out = {}
    for task in sorted(set(before) & set(after)):
        ids = sorted(set(before[task]["items"]) & set(after[task]["items"]))
        old = [before[task]["items"][i] for i in ids]
        new = [after[task]["items"][i] for i in ids]
        found = scored(old, new, f"benchmark:{task}", settings)
        if found is not None:
            out[task] = found
    return out


def general_change(
    models: tuple[Path, Path],
    recorded: Path | None,
    settings: RetrainConfig,
    repo_root: Path,
    out: Path,
) -> General:
    """Benchmarks on the new model (``models[1]``), compared per item with the previous one
    (``models[0]``, or its ``recorded`` items); ``out`` is the folder for the item files."""
    previous, current = models
    figures = run_benchmarks(current, settings, repo_root, items=out / ITEMS_FILE)
    after = _read(out / ITEMS_FILE)
    if not after:
        return General(figures, notes=("general benchmarks: no per-item scores",))
    old = _read(recorded)
    notes: tuple[str, ...] = ("previous model's scores read from its version",)
    if not _reusable(old, after):
        run_benchmarks(previous, settings, repo_root, items=out / "previous.json")
        old = _read(out / "previous.json")
        notes = ("previous model evaluated again (no matching recorded scores)",)
    return General(figures, paired_tasks(old, after, settings), notes)
