"""Benchmark: the pull-request preview of one changed leaf of each type, end to end, on the CPU.

A temporary git repository holds the sample taxonomy on ``main`` and one branch per leaf type,
each adding one leaf: the demo ``antonyms`` skill, a copy of the sample grounded skill
``summarize_meeting_notes`` and the demo ``tides`` knowledge leaf (a 700-word document). The
measured run is what the preview workflow does after installing: ``seedtree preview --base main``
in a fresh process (imports, the embedded teacher's model load, generation and judging of
``preview.samples`` candidates, the dry-run estimate, rendering). The converted embedded model is
prepared first, untimed, as the workflow restores it from its cache.

Baseline, measured in the same run: ``seedtree diff`` plus ``seedtree validate --changed`` of the
skill leaf, the part of the preview that does not involve the teacher. The machine's load average
is printed beside each figure: on a shared machine the wall time of a 2-thread model is not the
time an idle runner takes, and the CPU seconds say how much work was done.

Each preview runs once per teacher path, in the same run, each with its own answer cache:
``float32-today`` (float32 weights, the KV cache grown by concatenation: the path of CPUs without
native bfloat16 before the preallocated cache and int8), ``float32``, ``int8``
(``teacher.quantize: int8``) and ``bfloat16``. The ratio of each to ``float32-today`` is printed;
the 60 s target applies to the path a CPU without native bfloat16 gets by default.

With ``--precheck``, the precheck of each leaf type follows, against ``seedtree serve`` of the
embedded student standing for the current release (``--precheck-only``: the precheck alone).

    .venv/bin/python bench/preview.py [--paths float32-today,int8] [--precheck[-only]] [kind ...]
"""

from __future__ import annotations

import argparse
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

from seedtree.teacher.precision import cpu_description

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
# teacher path -> (settings, whether the KV cache is transformers' own, grown by concatenation)
PATHS = {
    "float32-today": ({"DTYPE": "float32", "QUANTIZE": "none"}, True),
    "float32": ({"DTYPE": "float32", "QUANTIZE": "none"}, False),
    "int8": ({"DTYPE": "float32", "QUANTIZE": "int8"}, False),
    "bfloat16": ({"DTYPE": "bfloat16", "QUANTIZE": "none"}, False),
}
GROWING_CACHE = (
    "import sys; from transformers import DynamicCache; import seedtree.teacher.embedded as e; "
    "e.preallocated_cache = lambda config, capacity: DynamicCache(config=config); "
    "from seedtree.cli import main; sys.argv[0] = 'seedtree'; main()"
)


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


def timed(
    args: list[str], repo: Path, env: dict[str, str], growing_cache: bool = False
) -> tuple[float, float]:
    """Wall and CPU time of one seedtree command (the machine may be shared: both are shown)."""
    started, cpu = time.perf_counter(), _children_cpu()
    command = [sys.executable, "-c", GROWING_CACHE] if growing_cache else [str(BIN / "seedtree")]
    done = subprocess.run([*command, *args], cwd=repo, env=env, capture_output=True, text=True)
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


def path_env(env: dict[str, str], path: str, home: Path) -> dict[str, str]:
    """The environment of one teacher path: its settings and its own answer cache."""
    settings, _ = PATHS[path]
    if not home.exists():  # the model converted once is shared, the answers are not
        home.mkdir(parents=True)
        (home / "models").symlink_to(Path(env["SEEDTREE_HOME"]) / "models")
    teacher = {f"SEEDTREE__TEACHER__{key}": value for key, value in settings.items()}
    return {**env, **teacher, "SEEDTREE_HOME": str(home)}


def preview(kind: str, path: str, repo: Path, env: dict[str, str], out: Path) -> float:
    """Wall time of the preview of the branch adding a ``kind`` leaf; checks what it shows."""
    _git(repo, "checkout", "-q", f"add-{kind}")
    args = ["preview", "--base", "main", "--out", str(out), "--quiet"]
    wall, _ = timed(args, repo, env, growing_cache=PATHS[path][1])
    text = out.read_text(encoding="utf-8")
    if LEAVES[kind][1] not in text or "**Candidate 1:**" not in text:
        sys.exit(f"the {kind} preview does not show the leaf's candidates:\n{text[:3000]}")
    print(f"preview of one {kind} leaf, {path}: {wall:.1f} s (model load included)", flush=True)
    return wall


def precheck(kind: str, repo: Path, env: dict[str, str], out: Path) -> float:
    """Wall time of the precheck alone of the branch adding a ``kind`` leaf."""
    _git(repo, "checkout", "-q", f"add-{kind}")
    args = ["preview", "--base", "main", "--precheck", "--samples", "0", "--out", str(out), "-q"]
    wall, _ = timed(args, repo, env)
    text = out.read_text(encoding="utf-8")
    if "**Precheck**" not in text or "The current model's answers" not in text:
        sys.exit(f"the {kind} precheck shows no answers:\n{text[:3000]}")
    print(f"precheck of one {kind} leaf: {wall:.1f} s (served current model)", flush=True)
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
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # still busy with a batch: the figures stand
            print("seedtree serve did not stop within 60 s of Ctrl-C; killed", flush=True)
            proc.kill()
            proc.wait()


def prechecks(kinds: list[str], repo: Path, env: dict[str, str], tmp: Path) -> dict[str, float]:
    with served(repo, env) as url:
        env = env | {"SEEDTREE__PRECHECK__BASE_URLS": f'["{url}"]'}
        env |= {"SEEDTREE__PRECHECK__MODEL": "default"}
        return {k: precheck(k, repo, env, tmp / f"{k}-precheck.md") for k in kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="*", help=f"of {', '.join(LEAVES)} (default: all)")
    parser.add_argument("--paths", default="float32-today,int8", help=f"of {', '.join(PATHS)}")
    parser.add_argument("--precheck", action="store_true", help="the precheck too")
    parser.add_argument("--precheck-only", action="store_true", help="the precheck alone")
    args = parser.parse_args()
    print(f"cpu: {cpu_description()}", flush=True)  # every figure below ran on it
    kinds, paths = args.kinds or list(LEAVES), args.paths.split(",")
    if unknown := (set(paths) - set(PATHS)) | (set(kinds) - set(LEAVES)):
        sys.exit(f"unknown leaf type(s) or teacher path(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="seedtree-bench-preview-") as tmp:
        env = {**os.environ, "SEEDTREE_HOME": str(Path(tmp) / "home")}
        env.setdefault("HF_HUB_OFFLINE", "1")
        repo = make_repo(Path(tmp))
        timed(["models", "fetch-default"], repo, env)  # untimed in the result: CI caches it
        _git(repo, "checkout", "-q", "add-skill")
        baseline = timed(["diff", "--base", "main"], repo, env)[0]
        baseline += timed(["validate", "--changed", "--base", "main"], repo, env)[0]
        walls = {
            (kind, path): preview(
                kind, path, repo, path_env(env, path, Path(tmp) / path), Path(tmp) / "out.md"
            )
            for kind in kinds
            for path in paths
            if not args.precheck_only
        }
        wanted = args.precheck or args.precheck_only
        checks = prechecks(kinds, repo, env, Path(tmp)) if wanted else {}
    print(f"baseline, diff + validate --changed of the skill leaf: {baseline:.2f} s")
    report(walls, baseline)
    for kind, wall in checks.items():
        verdict = "ok" if wall <= TARGET_S else "short"
        print(f"RESULT precheck_{kind}_s={wall:.1f} target={TARGET_S:.0f} {verdict}")


def report(walls: dict[tuple[str, str], float], baseline: float) -> None:
    """RESULT lines: each path's preview time, and its ratio to today's float32 path."""
    for (kind, path), wall in walls.items():
        name = f"preview_{kind}_s" if path == "float32-today" else f"preview_{kind}_{path}_s"
        verdict = "ok" if wall <= TARGET_S else "short"
        print(f"RESULT {name}={wall:.1f} target={TARGET_S:.0f} {verdict}")
        today = walls.get((kind, "float32-today"))
        if today and path != "float32-today":
            print(f"RESULT preview_{kind}_{path}_vs_float32_x={today / wall:.2f} target=none ok")
    worst = max(walls.values(), default=0.0)
    ratio = worst / baseline if baseline else float("inf")
    print(f"RESULT preview_vs_validate_x={ratio:.1f} target=none ok")


if __name__ == "__main__":
    main()
