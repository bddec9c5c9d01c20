"""Benchmark: the pull-request preview of one changed skill leaf, end to end, on the CPU.

A temporary git repository holds the sample taxonomy on ``main`` and a branch that adds the demo
``antonyms`` skill leaf. The measured run is what the preview workflow does after installing:
``seedtree preview --base main`` in a fresh process (imports, the embedded teacher's model load,
generation of ``preview.samples`` samples with judging, the dry-run estimate, rendering). The
converted embedded model is prepared first, untimed, as the workflow restores it from its cache.

Baseline, measured in the same run: ``seedtree diff`` plus ``seedtree validate --changed`` of the
same leaf, the part of the preview that does not involve the teacher.

    .venv/bin/python bench/preview.py
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 120.0
LEAF = "compositional_skills/linguistics/antonyms"
BIN = Path(sys.executable).parent


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(parent: Path) -> Path:
    """The sample taxonomy on main, and a checked-out branch adding one skill leaf."""
    repo = parent / "taxonomy-repo"
    repo.mkdir()
    shutil.copytree(ROOT / "taxonomy", repo / "taxonomy")
    shutil.copy(ROOT / "seedtree.yaml", repo / "seedtree.yaml")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "sample taxonomy")
    _git(repo, "checkout", "-q", "-b", "add-antonyms")
    shutil.copytree(ROOT / "tooling/seedtree/data/demo/antonyms", repo / "taxonomy" / LEAF)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "add antonyms")
    return repo


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], repo: Path, env: dict[str, str]) -> float:
    """Wall time of one seedtree command (its CPU time is printed too: the machine is shared)."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [str(BIN / "seedtree"), *args], cwd=repo, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    used = _children_cpu() - cpu
    print(f"  seedtree {' '.join(args[:2])}: {elapsed:.1f} s wall, {used:.1f} s CPU", flush=True)
    if done.returncode != 0:
        sys.exit(f"seedtree {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="seedtree-bench-preview-") as tmp:
        env = {**os.environ, "SEEDTREE_HOME": str(Path(tmp) / "home")}
        env.setdefault("HF_HUB_OFFLINE", "1")
        repo = make_repo(Path(tmp))
        timed(["models", "fetch-default"], repo, env)  # untimed in the result: CI caches it
        baseline = timed(["diff", "--base", "main"], repo, env)
        baseline += timed(["validate", "--changed", "--base", "main"], repo, env)
        out = Path(tmp) / "preview.md"
        wall = timed(["preview", "--base", "main", "--out", str(out), "--quiet"], repo, env)
        text = out.read_text(encoding="utf-8")
        if LEAF not in text or "Generated candidates" not in text:
            sys.exit(f"the preview does not show the leaf's samples:\n{text[:2000]}")
    print(f"preview of one skill leaf: {wall:.1f} s (model load included), {len(text):,} chars")
    print(f"baseline, diff + validate --changed of the same leaf: {baseline:.2f} s")
    verdict = "ok" if wall <= TARGET_S else "short"
    print(f"RESULT preview_wall_s={wall:.1f} target={TARGET_S:.0f} {verdict}")
    ratio = wall / baseline if baseline else float("inf")
    print(f"RESULT preview_vs_validate_x={ratio:.1f} target=none ok")


if __name__ == "__main__":
    main()
