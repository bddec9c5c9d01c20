"""What a training run shows while it works: a progress bar per phase (with ETA), or plain lines
for CI logs, and a final summary table. Only the main rank reports."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from seedtree.termsafe import markup

if TYPE_CHECKING:
    from seedtree.train.evaluate import EvalMatrix
    from seedtree.train.flops import Throughput
    from seedtree.train.packing import Plan


class _PhaseLike(Protocol):
    @property
    def steps(self) -> int: ...


class Reporter:
    """Rich progress bars (``bars``) or one line per phase; ``enabled=False`` shows nothing."""

    def __init__(self, bars: bool, enabled: bool = True) -> None:
        from rich.console import Console

        self.bars = bars and enabled
        self.enabled = enabled
        self.console = Console(stderr=True, highlight=False)
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Reporter:
        if self.bars:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _say(self, text: str) -> None:
        if self.enabled:
            self.console.print(text)

    def phase_start(
        self, name: str, new: int, replay: int, plan: Plan, dropped: dict[str, int]
    ) -> None:
        lost = sum(dropped.values())
        self._say(
            f"phase {name}: {new} new + {replay} replayed samples, {len(plan.steps)} steps "
            f"({plan.epochs} epochs, {plan.accum} micro-batches/rank/step, budget fill "
            f"{plan.fill:.0%})" + (f", {lost} over-length samples dropped" if lost else "")
        )
        if self._progress is not None:
            self._task = self._progress.add_task(name, total=len(plan.steps), loss="-")

    def step(self, phase: str, step: int, total: int, row: dict[str, Any]) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=step, loss=f"{row['loss']:.3f}")

    def phase_end(self, name: str, speed: Throughput | None) -> None:
        if speed is not None:
            self._say(f"phase {name}: {speed.describe()}")

    def finish(self, phases: Sequence[_PhaseLike], matrix: EvalMatrix, final: Any) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        from rich.table import Table

        table = Table(title="held-out loss per leaf after each phase")
        table.add_column("leaf")
        for name in matrix.phases:
            table.add_column(name, justify="right")
        for leaf in matrix.leaves:
            values = [matrix.heldout_loss[p].get(leaf) for p in matrix.phases]
            figures = ("-" if v is None else f"{v:.3f}" for v in values)
            table.add_row(markup(leaf), *figures)  # a leaf's name is a contributor's
        self.console.print(table)
        bwt = matrix.backward_transfer()
        self._say(
            f"trained {sum(p.steps for p in phases)} steps over {len(phases)} phases; "
            f"backward transfer {'n/a' if bwt is None else f'{bwt:+.3f}'}; model: {final}"
        )
