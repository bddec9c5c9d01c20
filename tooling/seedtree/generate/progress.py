"""Progress bars per stage (requests answered / planned, with ETA), or nothing in quiet mode."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class StageProgress:
    """One rich progress bar per stage; totals grow as rounds plan more requests."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._totals: dict[str, int] = {}

    def __enter__(self) -> StageProgress:
        if not self.quiet:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description:<26}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _task(self, stage: str) -> Any:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=0)
        return self._tasks[stage]

    def plan(self, stage: str, count: int) -> None:
        if self._progress is not None:
            self._totals[stage] = self._totals.get(stage, 0) + count
            self._progress.update(self._task(stage), total=self._totals[stage])

    def advance(self, stage: str) -> None:
        if self._progress is not None:
            self._progress.advance(self._task(stage))
