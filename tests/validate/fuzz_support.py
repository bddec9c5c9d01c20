"""Run the validator on damaged input and check what must always hold (tests and benchmark)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seedtree.config import ValidateConfig
from seedtree.findings import Finding
from seedtree.validate.check import Target, check_file
from seedtree.validate.rules import RULES

KINDS = {"skills": "compositional_skills/fuzz/leaf", "knowledge": "knowledge/fuzz/leaf"}
ATTRIBUTION = (
    "Title of work: Fuzz\nLink to work: N/A\nRevision: 1\nLicense of the work: MIT\n"
    "Creator names: Fuzz\n"
)


def make_tree(root: Path) -> dict[str, Path]:
    """A taxonomy with one leaf folder per kind; returns the qna.yaml path of each."""
    (root / "seedtree.yaml").write_text("# fuzz\n")
    paths = {}
    for kind, rel in KINDS.items():
        folder = root / rel
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "attribution.txt").write_text(ATTRIBUTION)
        paths[kind] = folder / "qna.yaml"
    return paths


class Hang(Exception):
    """A case ran longer than the watchdog allows."""


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Interrupt the block with :class:`Hang` after ``seconds`` (main thread, POSIX)."""

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_case(path: Path, raw: bytes, root: Path, config: ValidateConfig) -> float:
    """Validate ``raw`` written at ``path``; assert the invariants; return the seconds taken."""
    path.write_bytes(raw)
    started = time.perf_counter()
    findings = check_file(Target(path, "leaf/qna.yaml", root, False, root), config)
    elapsed = time.perf_counter() - started
    for finding in findings:
        assert_located(finding, raw)
    return elapsed


def assert_located(finding: Finding, raw: bytes) -> None:
    assert finding.rule in RULES, finding
    assert finding.severity in ("error", "warning"), finding
    assert finding.line >= 1 and finding.column >= 1, finding
    assert finding.message, finding
    if finding.file == "leaf/qna.yaml":
        assert finding.line <= raw.count(b"\n") + raw.count(b"\r") + 1, finding
