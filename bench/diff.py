"""Benchmark: ``seedtree diff`` on a large repository, against the reference algorithm.

A synthetic repository (built with ``git fast-import``): 5,000 leaves on ``main``, a feature
branch of 2,000 commits each editing one leaf, ``main`` moving on by 20 commits after the branch
point, plus uncommitted and untracked edits in the working tree. Ours is one
``seedtree diff --base main --format json`` process, start-up included (median of 3).

The reference is ``ilab taxonomy diff``'s algorithm reproduced with git commands: walk first
parents back from HEAD running one ``git branch -a --contains <sha>`` per commit until one is on
``main``, then diff that commit with the working tree and list untracked files. Walking all 2,001
commits takes minutes, so it walks at most ``--ref-commits`` (default 150), times them, and
extrapolates linearly to the full walk (the printed figures say so).

    .venv/bin/python bench/diff.py [--leaves 5000] [--commits 2000] [--ref-commits 150] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SEEDTREE = Path(sys.executable).parent / "seedtree"
TARGET_S = 1.0
TARGET_RATIO = 10.0
MAIN_AFTER = 20
ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    import os

    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=data,
        capture_output=True,
        check=True,
        env={**os.environ, **ENV},
    )
    return done.stdout.decode()


def _leaf_path(i: int) -> str:
    return f"taxonomy/compositional_skills/group_{i // 100:03d}/leaf_{i:05d}"


def _qna(i: int, revision: int) -> bytes:
    return (
        f"version: 3\ntask_description: Task {i}.\ncreated_by: bench\nseed_examples:\n"
        f"  - question: Question {i} revision {revision}?\n    answer: Answer {i}.\n"
    ).encode()


def _blob(path: str, data: bytes) -> bytes:
    return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)


def _commit(ref: str, mark: int, parent: int | None, message: str, body: bytes) -> bytes:
    stamp = 1_700_000_000 + mark
    head = (
        f"commit {ref}\nmark :{mark}\ncommitter Bench <bench@example.invalid> {stamp} +0000\n"
        f"data {len(message)}\n{message}\n"
    ).encode()
    return head + (f"from :{parent}\n".encode() if parent else b"") + body + b"\n"


def _stream(leaves: int, commits: int) -> Iterator[bytes]:
    files = [_blob("seedtree.yaml", b"taxonomy_dir: taxonomy\n")]
    for i in range(leaves):
        files.append(_blob(f"{_leaf_path(i)}/qna.yaml", _qna(i, 0)))
        files.append(_blob(f"{_leaf_path(i)}/attribution.txt", b"Title of work: bench\n"))
    yield _commit("refs/heads/main", 1, None, "taxonomy", b"".join(files))
    for k in range(commits):  # 7 and the leaf count share no factor: distinct leaves
        i = (k * 7) % leaves
        body = _blob(f"{_leaf_path(i)}/qna.yaml", _qna(i, k + 1))
        yield _commit("refs/heads/feature", k + 2, k + 1, f"edit {i}", body)
    for k in range(MAIN_AFTER):
        i = (k * 7 + 3) % leaves
        parent = 1 if k == 0 else commits + k + 1
        body = _blob(f"{_leaf_path(i)}/qna.yaml", _qna(i, -k - 1))
        yield _commit("refs/heads/main", commits + k + 2, parent, f"main {i}", body)


def build(repo: Path, leaves: int, commits: int) -> None:
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "fast-import", "--quiet", data=b"".join(_stream(leaves, commits)))
    git(repo, "checkout", "-q", "-f", "feature")
    (repo / _leaf_path(1)).joinpath("qna.yaml").write_bytes(_qna(1, 99_999))  # unstaged
    new = repo / "taxonomy/compositional_skills/new_leaf"
    new.mkdir(parents=True)
    (new / "qna.yaml").write_bytes(_qna(-1, 0))  # untracked


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours(repo: Path) -> tuple[float, float, int]:
    """(median wall seconds, median CPU seconds of the process and its git children, leaves)."""
    times, cpu, count = [], [], 0
    for _ in range(3):
        cpu_before, started = _children_cpu(), time.perf_counter()
        out = subprocess.run(
            [str(SEEDTREE), "diff", "-C", str(repo), "--base", "main", "--format", "json"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        times.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - cpu_before)
        count = len(json.loads(out)["leaves"])
    return statistics.median(times), statistics.median(cpu), count


def reference(repo: Path, cap: int) -> tuple[float, int, int]:
    """(estimated seconds for the full walk, commits walked, total commits to walk)."""
    shas = git(repo, "rev-list", "--first-parent", "HEAD").split()
    base_line = "main"
    started, walked, found = time.perf_counter(), 0, None
    for sha in shas[:cap]:
        walked += 1
        branches = git(repo, "branch", "-a", "--contains", sha)
        if any(line.strip(" *") == base_line for line in branches.splitlines()):
            found = sha
            break
    walk_s = time.perf_counter() - started
    total = len(shas) if found is None else walked
    target = found or shas[-1]
    started = time.perf_counter()
    git(repo, "diff", "--name-only", "-z", target)
    git(repo, "ls-files", "--others", "--exclude-standard", "-z")
    tail_s = time.perf_counter() - started
    return walk_s / walked * total + tail_s, walked, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=5000)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--ref-commits", type=int, default=150)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic repository")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seedtree-bench-diff-"))
    repo = tmp / "repo"
    try:
        started = time.perf_counter()
        build(repo, args.leaves, args.commits)
        print(
            f"built {args.leaves} leaves, {args.commits} feature commits in "
            f"{time.perf_counter() - started:.1f} s: {repo}"
        )
        ours_s, cpu_s, count = ours(repo)
        print(
            f"seedtree diff: {ours_s:.3f} s wall, {cpu_s:.3f} s CPU (median of 3, process "
            f"start-up included; wall time grows with the machine's load), {count} changed leaves"
        )
        ref_s, walked, total = reference(repo, args.ref_commits)
        how = "measured" if walked == total else f"extrapolated from {walked} of {total} commits"
        print(f"reference walk (git branch -a --contains per commit): {ref_s:.1f} s ({how})")
        # every leaf edited on the branch, the unstaged edit of leaf 1, the untracked new leaf
        expected = len({(k * 7) % args.leaves for k in range(args.commits)} | {1}) + 1
        ok_count = count == expected
        print(f"changed leaves: {count} (expected {expected})")
        ratio = ref_s / ours_s
        print(
            f"RESULT diff_seconds={ours_s:.3f} target={TARGET_S} "
            f"{'ok' if ours_s <= TARGET_S and ok_count else 'short'}"
        )
        print(
            f"RESULT diff_cpu_seconds={cpu_s:.3f} target={TARGET_S} "
            f"{'ok' if cpu_s <= TARGET_S else 'short'}"
        )
        print(
            f"RESULT diff_speedup={ratio:.0f} target={TARGET_RATIO:.0f} "
            f"{'ok' if ratio >= TARGET_RATIO else 'short'}"
        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
