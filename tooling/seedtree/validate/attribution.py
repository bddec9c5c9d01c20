"""``attribution.txt``: next to each ``qna.yaml``, with its fields and an allowed license."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from seedtree.findings import Finding
from seedtree.taxonomy.leaves import ATTRIBUTION
from seedtree.validate.context import FileCheck
from seedtree.yamlpos import Pos, read_file

FIELDS = ("Title of work", "Link to work", "Revision", "License of the work", "Creator names")
_LICENSE = "license of the work"


@dataclass(frozen=True)
class Entry:
    """One attributed work: its first line and its fields (lowercased name → (line, value))."""

    line: int
    fields: dict[str, tuple[int, str]]


def parse_attribution(text: str) -> list[Entry]:
    """Entries start at each ``Title of work:`` line (or the first field of the file)."""
    entries: list[Entry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            continue
        key = name.strip().lower()
        if not entries or key == "title of work" or key in entries[-1].fields:
            entries.append(Entry(number, {}))
        entries[-1].fields[key] = (number, value.strip())
    return entries


def normalise_license(name: str) -> str:
    """``CC BY-SA 4.0`` and ``cc-by-sa-4.0`` both become ``CC-BY-SA-4.0``."""
    return "-".join(name.replace("_", " ").replace("-", " ").split()).upper()


def attribution(check: FileCheck) -> Iterator[Finding]:
    path = os.path.join(os.path.dirname(check.path), ATTRIBUTION)
    shown = posixpath.join(posixpath.dirname(check.shown), ATTRIBUTION)
    if not os.path.isfile(path):
        yield check.at(
            Pos(1, 1),
            "attribution-missing",
            f"{ATTRIBUTION} is missing next to this file: add one with {', '.join(FIELDS)}",
        )
        return
    text = read_file(path, shown)
    if isinstance(text, Finding):
        yield text
        return
    entries = parse_attribution(text)
    if not entries:
        entries = [Entry(1, {})]
    for entry in entries:
        yield from _entry_findings(check, entry, shown)


def _entry_findings(check: FileCheck, entry: Entry, shown: str) -> Iterator[Finding]:
    missing = [f for f in FIELDS if f.lower() not in entry.fields]
    if missing:
        yield check.at(
            Pos(entry.line, 1),
            "attribution-field-missing",
            f"missing {', '.join(repr(m) for m in missing)}: add "
            f"{'them' if len(missing) > 1 else 'it'} (write N/A when not applicable)",
            file=shown,
        )
    if _LICENSE in entry.fields:
        line, value = entry.fields[_LICENSE]
        allowed = check.config.allowed_licenses
        if normalise_license(value) not in {normalise_license(a) for a in allowed}:
            yield check.at(
                Pos(line, 1),
                "license-not-allowed",
                f"license '{value}' is not allowed; allowed: {', '.join(allowed)}",
                file=shown,
            )
