"""Benchmark: the pull-request preview of one changed leaf of each type, end to end, on the CPU.

A temporary git repository holds the sample taxonomy on ``main`` and one branch per leaf type,
each adding one leaf: the demo ``antonyms`` skill, a copy of the sample grounded skill
``summarize_meeting_notes`` and the demo ``tides`` knowledge leaf (a 700-word document). The
measured run is what the preview workflow does after installing: ``seedtree preview --base main``
in a fresh process (imports, the embedded teacher's model load, generation and judging of
``preview.samples`` candidates, the dry-run estimate, rendering). The converted embedded model is
prepared first, untimed, as the workflow restores it from its cache.

The precheck is measured too: ``seedtree preview --base main --precheck --samples 0`` (the
current model answers the leaf's seed questions; no teacher), in a fresh process, with the current
model served by ``seedtree serve`` as the workflow reaches it (``precheck.base_urls``). No release
of the demo exists here (a retrain takes far longer than this benchmark), so the embedded student
model (SmolLM2-135M-Instruct, what v1 is trained from) stands for the current model.

Baseline, measured in the same run: ``seedtree diff`` plus ``seedtree validate --changed`` of the
skill leaf, the part of the preview that does not involve the teacher. The machine's load average
is printed beside each figure: on a shared machine the wall time of a 2-thread model is not the
time an idle runner takes, and the CPU seconds say how much work was done.

    .venv/bin/python bench/preview.py [--precheck-only] [skill|grounded_skill|knowledge ...]
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 60.0
DEMO = ROOT / "tooling/seedtree/data/demo"
# leaf type -> (folder copied, its path in the taxonomy)
LEAVES = {
    "skill": (DEMO / "antonyms", "compositional_skills/linguistics/antonyms"),
    "grounded_skill": (
        ROOT / "taxonomy/compositional_skills/grounded/summarize_meeting_notes",
        "compositional_skills/grounded/summarize_meeting_notes_copy",
    ),
    "knowledge": (DEMO / "tides", "knowledge/science/oceanography/tides"),
}
BIN = Path(sys.executable).parent


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(parent: Path) -> Path:
    """The sample taxonomy on main, and one branch per leaf type adding one leaf of that type."""
    repo = parent / "taxonomy-repo"
    repo.mkdir()
    shutil.copytree(ROOT / "taxonomy", repo / "taxonomy")
    shutil.copy(ROOT / "seedtree.yaml", repo / "seedtree.yaml")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "sample taxonomy")
    for kind, (source, leaf) in LEAVES.items():
        _git(repo, "checkout", "-q", "-b", f"add-{kind}", "main")
        shutil.copytree(source, repo / "taxonomy" / leaf)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"add a {kind} leaf")
    return repo


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], repo: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU time of one seedtree command (the machine may be shared: both are shown)."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [str(BIN / "seedtree"), *args], cwd=repo, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    used = _children_cpu() - cpu
    load = os.getloadavg()[0]
    print(
        f"  seedtree {' '.join(args[:2])}: {elapsed:.1f} s wall, {used:.1f} s CPU, "
        f"load average {load:.1f}",
        flush=True,
    )
    if done.returncode != 0:
        sys.exit(f"seedtree {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, used


def preview(kind: str, repo: Path, env: dict[str, str], out: Path) -> float:
    """Wall time of the preview of the branch adding a ``kind`` leaf; checks what it shows."""
    _git(repo, "checkout", "-q", f"add-{kind}")
    wall, _ = timed(["preview", "--base", "main", "--out", str(out), "--quiet"], repo, env)
    text = out.read_text(encoding="utf-8")
    if LEAVES[kind][1] not in text or "**Candidate 1:**" not in text:
        sys.exit(f"the {kind} preview does not show the leaf's candidates:\n{text[:3000]}")
    print(f"preview of one {kind} leaf: {wall:.1f} s (model load included), {len(text):,} chars")
    return wall


def precheck(kind: str, repo: Path, env: dict[str, str], out: Path) -> float:
    """Wall time of the precheck alone of the branch adding a ``kind`` leaf."""
    _git(repo, "checkout", "-q", f"add-{kind}")
    args = ["preview", "--base", "main", "--precheck", "--samples", "0", "--out", str(out), "-q"]
    wall, _ = timed(args, repo, env)
    text = out.read_text(encoding="utf-8")
    if "**Precheck**" not in text or "The current model's answers" not in text:
        sys.exit(f"the {kind} precheck shows no answers:\n{text[:3000]}")
    print(f"precheck of one {kind} leaf: {wall:.1f} s (served current model)")
    return wall


@contextlib.contextmanager
def served(repo: Path, env: dict[str, str]) -> Iterator[str]:
    """``seedtree serve`` of the embedded model (standing for the current release); its URL."""
    proc = subprocess.Popen(
        [str(BIN / "seedtree"), "serve", "--port", "0", "-q"], cwd=repo, env=env,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().split(" on ")[-1].strip()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def main() -> None:
    only = "--precheck-only" in sys.argv
    kinds = [a for a in sys.argv[1:] if a != "--precheck-only"] or list(LEAVES)
    with tempfile.TemporaryDirectory(prefix="seedtree-bench-preview-") as tmp:
        env = {**os.environ, "SEEDTREE_HOME": str(Path(tmp) / "home")}
        env.setdefault("HF_HUB_OFFLINE", "1")
        repo = make_repo(Path(tmp))
        timed(["models", "fetch-default"], repo, env)  # untimed in the result: CI caches it
        _git(repo, "checkout", "-q", "add-skill")
        baseline = timed(["diff", "--base", "main"], repo, env)[0]
        baseline += timed(["validate", "--changed", "--base", "main"], repo, env)[0]
        walls = {} if only else {k: preview(k, repo, env, Path(tmp) / f"{k}.md") for k in kinds}
        with served(repo, env) as url:
            env |= {"SEEDTREE__PRECHECK__BASE_URLS": f'["{url}"]'}
            env |= {"SEEDTREE__PRECHECK__MODEL": "default"}
            checks = {k: precheck(k, repo, env, Path(tmp) / f"{k}-precheck.md") for k in kinds}
    print(f"baseline, diff + validate --changed of the skill leaf: {baseline:.2f} s")
    for kind, wall in walls.items():
        verdict = "ok" if wall <= TARGET_S else "short"
        print(f"RESULT preview_{kind}_s={wall:.1f} target={TARGET_S:.0f} {verdict}")
    for kind, wall in checks.items():
        verdict = "ok" if wall <= TARGET_S else "short"
        print(f"RESULT precheck_{kind}_s={wall:.1f} target={TARGET_S:.0f} {verdict}")
    worst = max(walls.values(), default=0.0)
    ratio = worst / baseline if baseline else float("inf")
    print(f"RESULT preview_vs_validate_x={ratio:.1f} target=none ok")


if __name__ == "__main__":
    main()
