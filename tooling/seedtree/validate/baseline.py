"""Baselines: the findings a tree already had when seedtree was adopted.

A baseline lists findings by (file relative to the repository root, rule, message) with a count,
not by line: editing a file above a known problem does not turn it into a new one. Applied to a
result, findings the baseline covers move to ``known`` (reported, never failing); the rest stay
and decide the exit code as usual. A finding fixed since the baseline simply no longer matches.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from seedtree.atomic import write_text
from seedtree.errors import UsageError
from seedtree.findings import Finding
from seedtree.validate.api import ValidationResult

BASELINE_FORMAT = 1
Key = tuple[str, str, str]


def _relative(file: str, repo_root: Path) -> str:
    path = Path(os.path.abspath(file))
    try:
        return path.relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return Path(file).as_posix()


def finding_key(finding: Finding, repo_root: Path) -> Key:
    return (_relative(finding.file, repo_root), finding.rule, finding.message)


def baseline_json(findings: Iterable[Finding], repo_root: Path) -> str:
    counts = Counter(finding_key(f, repo_root) for f in findings)
    rows = [
        {"file": file, "rule": rule, "message": message, "count": n}
        for (file, rule, message), n in sorted(counts.items())
    ]
    body = ",\n    ".join(json.dumps(row, ensure_ascii=False) for row in rows)
    listing = f"[\n    {body}\n  ]" if rows else "[]"
    return f'{{\n  "format": {BASELINE_FORMAT},\n  "findings": {listing}\n}}\n'


def write_baseline(path: Path, findings: Iterable[Finding], repo_root: Path) -> int:
    """Write the baseline of ``findings``; returns how many findings it covers."""
    findings = list(findings)
    write_text(path, baseline_json(findings, repo_root))
    return len(findings)


def read_baseline(path: Path) -> Counter[Key]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no such baseline file",
            hint="write one with `seedtree validate --write-baseline FILE` or `seedtree init`",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a baseline file ({exc})") from None
    rows = data.get("findings") if isinstance(data, dict) else None
    if data.get("format") != BASELINE_FORMAT or not isinstance(rows, list):
        raise UsageError(f"{path}: not a seedtree baseline (format {BASELINE_FORMAT} expected)")
    try:
        return Counter({(r["file"], r["rule"], r["message"]): int(r["count"]) for r in rows})
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: malformed baseline entry ({exc})") from None


def apply_baseline(
    result: ValidationResult, baseline: Counter[Key], repo_root: Path
) -> ValidationResult:
    """``result`` with the findings ``baseline`` covers moved to ``known``."""
    left = Counter(baseline)
    new: list[Finding] = []
    known: list[Finding] = list(result.known)
    for finding in result.findings:
        key = finding_key(finding, repo_root)
        if left[key] > 0:
            left[key] -= 1
            known.append(finding)
        else:
            new.append(finding)
    return ValidationResult(result.files, new, known)
