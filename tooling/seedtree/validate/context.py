"""What every rule sees of one ``qna.yaml``: where it is, what it holds, which version applies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from seedtree.config import ValidateConfig
from seedtree.findings import Finding, Severity
from seedtree.taxonomy.leaves import TOPS
from seedtree.validate.rules import RULES
from seedtree.yamlpos import ParsedYaml, Pos

Kind = Literal["knowledge", "skills"]
LATEST = 3


@dataclass(frozen=True, kw_only=True)
class FileCheck:
    """One file under validation.

    ``rel`` is the file's path below the taxonomy root (``None`` outside any taxonomy);
    ``version`` is the schema version it is validated against: its own, or the latest when it is
    held to the latest (a changed file, or ``--schema-version latest``).
    """

    path: Path
    shown: str
    root: Path | None
    rel: PurePosixPath | None
    parsed: ParsedYaml
    kind: Kind
    own_version: Any
    version: int
    held_to_latest: bool
    config: ValidateConfig

    @property
    def data(self) -> Any:
        return self.parsed.data

    @property
    def top(self) -> str | None:
        if self.rel is None or len(self.rel.parts) < 2 or self.rel.parts[0] not in TOPS:
            return None
        return self.rel.parts[0]

    def severity(self, rule: str) -> Severity:
        declared = RULES[rule].severity
        if declared == "by version":
            return "error" if self.version >= LATEST else "warning"
        return declared

    def at(self, pos: Pos, rule: str, message: str, file: str | None = None) -> Finding:
        return Finding(file or self.shown, pos.line, pos.column, self.severity(rule), rule, message)

    def at_path(self, path: tuple[Any, ...], rule: str, message: str) -> Finding:
        return self.at(self.parsed.locate(path), rule, message)

    def at_key(self, path: tuple[Any, ...], rule: str, message: str) -> Finding:
        return self.at(self.parsed.locate_key(path), rule, message)


def kind_of(rel: PurePosixPath | None, data: Any) -> Kind:
    """The schema kind: by top folder, else (outside a taxonomy) by content, as the reference."""
    if rel is not None and rel.parts and rel.parts[0] in TOPS:
        return "knowledge" if rel.parts[0] == "knowledge" else "skills"
    return "knowledge" if isinstance(data, dict) and "document" in data else "skills"


def own_version(data: Any) -> Any:
    """The file's ``version`` value (1 when absent), as written."""
    if isinstance(data, dict):
        return data.get("version", 1)
    return 1


def version_number(value: Any) -> int | None:
    """``version`` as an int when it is one (or a digit string, as the reference accepts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 3.0 is the number 3, in JSON Schema as in the reference
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
