"""Per-step metrics (JSONL) and the loss-curve plot.

``metrics.jsonl`` has one line per optimizer step: phase, step, loss, lr, tokens, tokens_per_s,
padding_fraction, fill, samples, elapsed_s. ``samples.jsonl`` lists the sample ids each step
trained on. When a run resumes from a saved state, lines past that state are dropped first, so
both files describe exactly the steps whose effect the model holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seedtree.atomic import write_jsonl


class JsonlLog:
    """An append-only JSONL file that can be cut back to a phase's step (on resume)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, row: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
            f.flush()

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a kill
                continue
        return rows

    def cut(self, phases_before: list[str], phase: str, last_step: int) -> None:
        """Keep earlier phases' rows and this phase's rows up to ``last_step``."""
        keep = [
            r
            for r in self.rows()
            if r.get("phase") in phases_before
            or (r.get("phase") == phase and int(r.get("step", 0)) <= last_step)
        ]
        write_jsonl(self.path, keep)


def plot_losses(rows: list[dict[str, Any]], out: Path) -> Path:
    """Training loss per step, one colour per phase, steps counted across phases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    offset = 0
    phases: list[str] = list(dict.fromkeys(str(r["phase"]) for r in rows))
    for phase in phases:
        mine = [r for r in rows if r["phase"] == phase]
        xs = [offset + int(r["step"]) for r in mine]
        ax.plot(xs, [float(r["loss"]) for r in mine], label=phase, linewidth=1)
        offset = max(xs, default=offset)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (per trained token)")
    ax.set_title("Training loss by phase")
    if phases:
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
