"""The caps a quick look at a leaf (the pull-request preview) puts on its generation.

A full run has none: judges filter, every stage asks for ``generate.max_tokens``, every chunk of
every document is used. With ``candidates`` set, a run carries that many candidates per leaf
through every stage and every judge, recording each judge's verdict at the configured thresholds
without filtering on it, so a reviewer sees what each candidate would have become; which
candidates are accepted is decided by the same rule as in a full run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Limits:
    # candidates per leaf carried through every stage (None: a full run, judges filter)
    candidates: int | None = None
    # stage (template name) -> most new tokens a request of that stage may ask for
    max_tokens: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # knowledge: the first chunks of each document only (None: every chunk)
    chunks_per_document: int | None = None

    def tokens(self, stage: str, default: int) -> int:
        """New tokens a request of ``stage`` asks for: the cap, never above ``default``."""
        return min(default, self.max_tokens.get(stage, default))


FULL_RUN = Limits()
