"""Benchmark: 10,000 damaged leaves through the validator; the slowest case and any escapes.

Cases are mutations of the sample leaves (dropped, duplicated and retyped keys, random bytes,
deep nesting, aliases, huge scalars, truncation, hostile ``document`` blocks; one to three
each) plus random byte strings.
Every case must finish without an exception and with every finding located (line and column
inside the file, a known rule id). Baseline, measured in the same run: the same validator on
the unmodified sample leaves (the typical case the slowest one is compared with).

    .venv/bin/python bench/fuzz_validate.py [CASES]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "validate"), str(ROOT / "tooling")]

from fuzz_support import check_case, make_tree  # noqa: E402
from mutations import mutate  # noqa: E402

from seedtree.config import ValidateConfig  # noqa: E402

CASES = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
TARGET_SLOWEST_S = 1.0


def _cases(samples: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    rng = random.Random(2024)
    out = []
    for index in range(CASES):
        kind, text = samples[index % len(samples)]
        if index % 10 == 9:
            out.append((kind, bytes(rng.randrange(256) for _ in range(rng.randrange(4000)))))
        else:
            out.append((kind, mutate(text, index)))
    return out


def main() -> int:
    samples = [
        ("knowledge" if "knowledge" in p.parts else "skills", p.read_text())
        for p in sorted((ROOT / "taxonomy").rglob("qna.yaml"))
    ]
    config = ValidateConfig()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        paths = make_tree(root)
        baseline = max(
            min(check_case(paths[k], t.encode(), root, config) for _ in range(3))
            for k, t in samples
        )
        escaped, slowest, slowest_case = 0, 0.0, -1
        started = time.perf_counter()
        for index, (kind, raw) in enumerate(_cases(samples)):
            try:
                elapsed = check_case(paths[kind], raw, root, config)
            except Exception:  # an escape is what this benchmark exists to find
                escaped += 1
                traceback.print_exc()
                continue
            if elapsed > slowest:
                slowest, slowest_case = elapsed, index
        total = time.perf_counter() - started
    print(f"{CASES} cases in {total:.1f} s; slowest: case {slowest_case} ({slowest:.3f} s)")
    print(f"baseline: slowest unmodified sample leaf {baseline:.4f} s")
    print(f"RESULT fuzz_escaped_exceptions={escaped} target=0 {'ok' if escaped == 0 else 'short'}")
    ok = "ok" if slowest <= TARGET_SLOWEST_S else "short"
    print(f"RESULT fuzz_slowest_case_s={slowest:.3f} target={TARGET_SLOWEST_S} {ok}")
    return 0 if escaped == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
