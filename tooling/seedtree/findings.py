"""A finding: one located problem in a file, as every checker reports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    """``file`` is the path as the user should see it (relative to where they ran the command
    when possible); ``line`` and ``column`` are 1-based; ``rule`` is a kebab-case id."""

    file: str
    line: int
    column: int
    severity: Severity
    rule: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"
