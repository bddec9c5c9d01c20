"""Render a :class:`ValidationResult`: text (with the source line and a caret), GitHub
annotations, or JSON. Reporters only format; they decide nothing.

The text report never echoes the line of a ``secret`` finding (the credential would be printed
into every log that keeps the output) nor reads a file through a symlink (a ``symlink-outside``
finding points at one, whose target is what must never be shown)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from seedtree import termsafe
from seedtree.findings import Finding
from seedtree.validate.api import ValidationResult

JSON_FORMAT_VERSION = 1
_COLOURS = {"error": "\033[1;31m", "warning": "\033[1;33m", "dim": "\033[2m", "bold": "\033[1m"}
_RESET = "\033[0m"
UNECHOED_RULES = frozenset({"secret", "symlink-outside"})


def summary(result: ValidationResult) -> str:
    files_with = len({f.file for f in result.findings})
    checked = f"{result.files} file{'s' * (result.files != 1)} checked"
    known = f" ({known_summary(result)})" if result.known else ""
    if not result.findings:
        return f"{checked}: no new problems{known}" if known else f"{checked}: no problems"
    errors = f"{result.errors} error{'s' * (result.errors != 1)}"
    warnings = f"{result.warnings} warning{'s' * (result.warnings != 1)}"
    where = f"{files_with} file{'s' * (files_with != 1)}"
    return f"{checked}: {errors}, {warnings} in {where}{known}"


def known_summary(result: ValidationResult) -> str:
    """``12 known in the baseline: license-not-allowed 9, attribution-field-missing 3``."""
    counts = Counter(f.rule for f in result.known)
    rules = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{len(result.known)} known in the baseline: {rules}"


class _Sources:
    """Source lines of the files findings point at, read once each."""

    def __init__(self) -> None:
        self.cache: dict[str, list[str]] = {}

    def line(self, file: str, number: int) -> str | None:
        if file not in self.cache:
            try:
                if Path(file).is_symlink():
                    raise OSError("a symlink is never read")
                with Path(file).open("rb") as handle:
                    raw = handle.read(2_000_000)
                self.cache[file] = raw.decode("utf-8", "replace").splitlines()
            except OSError:
                self.cache[file] = []
        lines = self.cache[file]
        return lines[number - 1] if 0 < number <= len(lines) else None


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{_COLOURS[style]}{text}{_RESET}" if colour else text


def render_text(result: ValidationResult, out: TextIO, colour: bool = False) -> None:
    sources = _Sources()
    for f in result.findings:  # paths, messages and sources are contributors' text
        where = _paint(f"{termsafe.text(f.file)}:{f.line}:{f.column}", "bold", colour)
        severity = _paint(f.severity, f.severity, colour)
        out.write(f"{where}: {severity} [{f.rule}] {termsafe.text(f.message)}\n")
        source = None if f.rule in UNECHOED_RULES else sources.line(f.file, f.line)
        if source is not None and len(source) <= 1000:
            shown = termsafe.text(source.replace("\t", " "))
            caret = " " * (min(f.column, len(shown) + 1) - 1) + "^"
            out.write(f"  {shown}\n  {_paint(caret, f.severity, colour)}\n")
    out.write(summary(result) + "\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: ValidationResult, out: TextIO, colour: bool = False) -> None:
    for f in result.findings:
        kind = "error" if f.is_error else "warning"
        out.write(
            f"::{kind} file={_escape_property(f.file)},line={f.line},col={f.column},"
            f"title={_escape_property(f.rule)}::{_escape_data(f.message)}\n"
        )
    out.write(summary(result) + "\n")


def as_json(result: ValidationResult) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT_VERSION,
        "summary": {
            "files": result.files,
            "errors": result.errors,
            "warnings": result.warnings,
            "files_with_findings": len({f.file for f in result.findings}),
        },
        "findings": [_finding_json(f) for f in result.findings],
        **({"known": [_finding_json(f) for f in result.known]} if result.known else {}),
    }


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "severity": f.severity,
        "rule": f.rule,
        "message": f.message,
    }


_ONE_LINE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def render_json(result: ValidationResult, out: TextIO, colour: bool = False) -> None:
    """Indented, one finding a line (so that the C encoder writes them: 3x faster)."""
    report = as_json(result)
    findings = report.pop("findings")
    known = report.pop("known", None)
    head = json.dumps(report, indent=2, ensure_ascii=False).removesuffix("\n}")
    body = "".join(["\n    ", ",\n    ".join(map(_ONE_LINE, findings)), "\n  "]) if findings else ""
    tail = f',\n  "known": {json.dumps(known, ensure_ascii=False)}' if known else ""
    out.write(f'{head},\n  "findings": [{body}]{tail}\n}}\n')


RENDERERS: dict[str, Callable[[ValidationResult, TextIO, bool], None]] = {
    "text": render_text,
    "github": render_github,
    "json": render_json,
}
