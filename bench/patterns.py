"""Benchmark: hostile document patterns, checked and matched segment by segment.

The former regex translation turned each ``**/`` into ``(?:[^/]*/)*``: a pattern of many ``**``
backtracks polynomially in the depth of a path with a degree of its ``**`` count (twelve such
patterns took 421 s against one deep path). Now a pattern with more than 3 ``**`` is refused
before any matching, and the allowed shapes are matched in time linear in the path.

Figures (each with its baseline, measured in the same run):

- the former regex on twelve 6-``**`` patterns against a path only 30 folders deep, against the
  time our check takes to refuse the same twelve;
- twelve allowed 3-``**`` patterns with wildcard folders against a path 2,000 folders deep;
- the walk that finds documents in a working tree 200 folders deep (what ``validate``, ``diff``,
  ``generate`` and ``retrain`` do), slowest hostile pattern against a plain ``**/*.md``.

    .venv/bin/python bench/patterns.py
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tooling")]

from seedtree.taxonomy.globs import compile_glob, pattern_problem  # noqa: E402
from seedtree.taxonomy.safewalk import walk  # noqa: E402

REFUSED = ["**/" * 6 + f"x{i}.md" for i in range(12)]
ALLOWED = [f"**/{'a*' * (4 + i)}/**/{'*a' * (6 + i)}b/**/x.md" for i in range(12)]
TARGET_S = 1.0


def former_regex(pattern: str) -> re.Pattern[str]:
    """The translation this project used before: ``**/`` as ``(?:[^/]*/)*``."""
    out = pattern.replace("**/", "\0").replace("*", "[^/]*").replace("\0", "(?:[^/]*/)*")
    return re.compile(out.replace(".", r"\.") + r"\Z")


def _timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> int:
    former_path = "/".join(["aaaa"] * 30) + "/y.md"
    former_s = _timed(lambda: [former_regex(p).match(former_path) for p in REFUSED])
    refuse_s = _timed(lambda: [pattern_problem(p) for p in REFUSED])
    assert all(pattern_problem(p) is not None for p in REFUSED)
    deep_path = "/".join(["aaaaaaaa"] * 2000) + "/y.md"
    match_s = _timed(lambda: [compile_glob(p).match(deep_path) for p in ALLOWED])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        root.joinpath(*["aaaaaaaa"] * 200).mkdir(parents=True)
        root.joinpath(*["aaaaaaaa"] * 200, "y.md").write_text("deep\n")
        walk_s = max(_timed(lambda p=p: walk(root, p)) for p in ALLOWED)
        plain_s = _timed(lambda: walk(root, "**/*.md"))
    print(f"former regex, 12 patterns of 6 '**', a path 30 folders deep: {former_s:.2f} s")
    print(f"ours: the same 12 refused in {refuse_s * 1000:.2f} ms")
    print(f"ours: 12 allowed patterns of 3 '**', a path 2,000 folders deep: {match_s:.3f} s")
    print(f"walk of a 200-deep tree: slowest hostile pattern {walk_s:.3f} s, plain {plain_s:.3f} s")
    figures = (
        ("patterns_refuse_s", refuse_s),
        ("patterns_match_2000_deep_s", match_s),
        ("patterns_walk_s", walk_s),
    )
    for name, value in figures:
        print(
            f"RESULT {name}={value:.3f} target={TARGET_S} {'ok' if value <= TARGET_S else 'short'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
