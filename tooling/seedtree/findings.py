"""A finding: one located problem in a file, as every checker reports it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
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


def shown_path(path: Path, cwd: str | None = None) -> str:
    """``path`` as the user should read it: relative to the working folder (``cwd``, by default
    the current one) when inside it."""
    if not path.is_absolute():
        return path.as_posix()
    text, base = str(path), os.path.join(cwd or os.getcwd(), "")
    return (text[len(base) :] if text.startswith(base) else text).replace(os.sep, "/")
