"""One line of ``seedtree doctor``: a check's name, status, what it found and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail", "skip"]
MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""  # what to do, when the check fails or warns

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.name:<11}{self.detail}"
        shown = self.status in ("fail", "warn") and self.fix
        return f"{text}\n     -> {self.fix}" if shown else text
