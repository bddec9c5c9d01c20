"""How long does the gate's paired bootstrap take? Vectorised numpy against a plain loop.

A release with ``--leaves`` leaves of ``--items`` items each (held-out samples plus seeds), 4,000
resamples per leaf (the gate's default): the vectorised bootstrap of
``seedtree.evaluation.bootstrap`` against the same resampling written as a Python loop (the
baseline), on the same synthetic losses in the same run.

Run: ``.venv/bin/python bench/bootstrap.py [--leaves 10] [--items 17]``. Ends with ``RESULT``
lines: the milliseconds per release (target: under 100 ms) and the speed-up over the loop.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import numpy as np

from seedtree.evaluation.bootstrap import RESAMPLES, paired_change

TARGET_MS = 100.0


def loop_interval(before: list[float], after: list[float], seed: int) -> tuple[float, float]:
    """The baseline: one resample at a time, in Python."""
    rng = random.Random(seed)
    n = len(before)
    draws = []
    for _ in range(RESAMPLES):
        picks = [rng.randrange(n) for _ in range(n)]
        b = sum(before[i] for i in picks) / n
        draws.append(sum(after[i] for i in picks) / n / b - 1.0)
    draws.sort()
    return draws[int(0.05 * RESAMPLES)], draws[int(0.95 * RESAMPLES) - 1]


def timed(action: Callable[[], None], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=10)
    parser.add_argument("--items", type=int, default=17)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    leaves = []
    for _ in range(args.leaves):
        before = rng.uniform(0.5, 3.0, args.items)
        leaves.append((list(before), list(before * rng.normal(1.05, 0.1, args.items))))

    def ours() -> None:
        for n, (b, a) in enumerate(leaves):
            paired_change(b, a, key=str(n))

    def baseline() -> None:
        for n, (b, a) in enumerate(leaves):
            loop_interval(b, a, n)

    ours_s, base_s = timed(ours), timed(baseline)
    print(f"{args.leaves} leaves x {args.items} items, {RESAMPLES} resamples each")
    print(f"  vectorised: {ours_s * 1000:.1f} ms   python loop: {base_s * 1000:.1f} ms")
    ms = ours_s * 1000
    print(
        f"RESULT bootstrap_ms={ms:.1f} target={TARGET_MS:.0f} {'ok' if ms < TARGET_MS else 'short'}"
    )
    speedup = base_s / ours_s
    print(f"RESULT bootstrap_speedup={speedup:.1f} target=10 {'ok' if speedup >= 10 else 'short'}")


if __name__ == "__main__":
    main()
