"""Generation on the sample taxonomy with the embedded teacher: throughput, overhead, re-run cost.

1. samples per minute: ``generate_leaves`` over every leaf of ``taxonomy/`` (a temporary git copy,
   a fresh ``$SEEDTREE_HOME``), accepted samples over wall time;
2. pipeline overhead: wall time minus the time spent inside the teacher (the raw backend time,
   measured in the same run by wrapping the teacher), over the backend time. Target: ≤ 10%;
3. re-run with nothing changed: teacher calls (target 0) and wall time (target ≤ 2 s);
4. dedup of 100k near-duplicate-rich questions (target ≤ 60 s).

Run: ``.venv/bin/python bench/generate.py [--samples 2] [--max-tokens 48]``. Ends with RESULT lines.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from seedtree.teacher.base import (
    LabelScores,
    OnResult,
    ScoreRequest,
    TeacherRequest,
    TeacherResponse,
)
from seedtree.teacher.precision import cpu_description

ROOT = Path(__file__).resolve().parent.parent


class TimedTeacher:
    """Forwards to a teacher and adds up the time spent inside it and the requests sent."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.requests = 0

    @property
    def id(self) -> str:
        return str(self.inner.id)  # type: ignore[attr-defined]

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        started = time.perf_counter()
        try:
            return self.inner.complete(requests, on_result)  # type: ignore[attr-defined,no-any-return]
        finally:
            self.seconds += time.perf_counter() - started
            self.requests += len(requests)

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        started = time.perf_counter()
        try:
            return self.inner.score_labels(requests)  # type: ignore[attr-defined,no-any-return]
        finally:
            self.seconds += time.perf_counter() - started
            self.requests += len(requests)

    def close(self) -> None:
        pass


def result(name: str, value: float, target: str, ok: bool, unit: str = "") -> None:
    print(f"RESULT {name}={value:.2f}{unit} target={target} {'ok' if ok else 'short'}")


def make_repo(where: Path) -> Path:
    repo = where / "repo"
    shutil.copytree(ROOT / "taxonomy", repo / "taxonomy")
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "taxonomy"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def bench_generation(samples: int, max_tokens: int) -> None:
    from seedtree.config import GenerateConfig
    from seedtree.generate.chunking import token_counter
    from seedtree.generate.run import generate_leaves
    from seedtree.models import resolve_model
    from seedtree.taxonomy.leaves import load_taxonomy
    from seedtree.teacher.embedded import EmbeddedTeacher

    config = GenerateConfig(
        samples_per_leaf=samples, max_tokens=max_tokens, questions_per_prompt=3, chunk_tokens=200
    )
    with tempfile.TemporaryDirectory(prefix="seedtree-bench-generate-") as tmp:
        os.environ["SEEDTREE_HOME"] = str(Path(tmp) / "home")
        repo = make_repo(Path(tmp))
        leaves = load_taxonomy(repo / "taxonomy")
        count = token_counter(config.tokenizer)  # the tokenizer loads once, before timing
        inner = EmbeddedTeacher(resolve_model("default"), batch_size=16)
        teacher = TimedTeacher(inner)
        started = time.perf_counter()
        report = generate_leaves(
            leaves, teacher, repo_root=repo, config=config, quiet=True, tokenizer=count
        )
        wall = time.perf_counter() - started
        print(f"first run: {report.samples} samples, {teacher.requests} requests, "
              f"{wall:.1f} s wall, {teacher.seconds:.1f} s in the teacher")  # fmt: skip
        for leaf_id, leaf in report.leaves.items():
            f = leaf.funnel
            print(f"  {leaf_id}: {f.accepted}/{f.wanted} accepted, {f.teacher_calls} calls, "
                  f"top rejections {f.top_rejections(3)}")  # fmt: skip
        result("samples_per_minute", report.samples / (wall / 60), "report", True)
        overhead = (wall - teacher.seconds) / max(teacher.seconds, 1e-9) * 100
        result("pipeline_overhead", overhead, "10%", overhead <= 10, "%")
        again = TimedTeacher(inner)
        started = time.perf_counter()
        generate_leaves(leaves, again, repo_root=repo, config=config, quiet=True, tokenizer=count)
        rerun = time.perf_counter() - started
        result("rerun_teacher_calls", again.requests, "0", again.requests == 0)
        result("rerun_seconds", rerun, "2s", rerun <= 2.0, "s")
        inner.close()


def bench_dedup(n: int) -> None:
    """Questions drawn from a Zipf-like vocabulary (as in text), a third of them edited copies."""
    from seedtree.generate.dedup import Deduper

    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(20_000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    texts: list[str] = []
    for _ in range(n):
        if texts and rng.random() < 0.33:
            words = rng.choice(texts).split()
            for _ in range(rng.randint(0, 4)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
        else:
            words = rng.choices(vocab, weights, k=rng.randint(8, 20))
        texts.append(" ".join(words))
    deduper = Deduper(0.7)
    started = time.perf_counter()
    reasons = deduper.filter(texts)
    seconds = time.perf_counter() - started
    kept = reasons.count(None)
    print(f"dedup: {n} texts, {kept} kept, {n - kept} near-duplicates, {seconds:.1f} s")
    result("dedup_100k_seconds", seconds, "60s", seconds <= 60, "s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2, help="accepted samples per leaf")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--dedup", type=int, default=100_000, help="texts in the dedup figure")
    args = parser.parse_args()
    print(f"cpu: {cpu_description()}", flush=True)  # every figure below ran on it
    bench_dedup(args.dedup)
    bench_generation(args.samples, args.max_tokens)


if __name__ == "__main__":
    main()
