"""Benchmark: planning a retrain (``seedtree retrain --dry-run``) at the scale of a real taxonomy.

A synthetic taxonomy repository of ``--leaves`` leaves (default 2,000): half knowledge leaves whose
documents live in a separate git repository reached by URL (``file://``) at a full commit SHA,
half skill leaves. v1 is recorded as released on it (its tag and artifacts folder, as a retrain
writes them; nothing is trained), then an unrelated commit is made: the plan finds nothing to do.

Figures (each a median of ``--runs`` processes, start-up included):

- ``retrain_plan_s``: the plan with the document digests cached by earlier runs (target 5 s);
- ``retrain_plan_cold_s``: the baseline, the same plan with an empty document cache (the
  document repository fetched and every document read again, as before the cache);
- ``taxonomy_load_s``: a plain load of the taxonomy in one process (for scale);
- ``*_cpu_s``: the CPU seconds of the same runs (git included), which a busy machine does not
  inflate the way it inflates wall time.

    .venv/bin/python bench/retrain_plan.py [--leaves 2000] [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOOLING = ROOT / "tooling"
TARGET_S = 5.0
KNOWLEDGE = ROOT / "taxonomy/knowledge/history/technology/bicycle"
SKILL = ROOT / "taxonomy/compositional_skills/writing/poetry/haiku"
ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, check=True, text=True,
        env={**os.environ, **ENV},
    )  # fmt: skip
    return done.stdout


def _commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def build_documents(folder: Path, count: int) -> str:
    """One document per knowledge leaf, in a repository of its own; returns the commit."""
    folder.mkdir(parents=True)
    git(folder, "init", "-q", "-b", "main")
    for i in range(count):
        text = f"# Notes {i}\n\nThe notes of leaf {i}. " + "Some words of the document. " * 40
        (folder / "docs" / f"{i:05d}.md").parent.mkdir(exist_ok=True)
        (folder / "docs" / f"{i:05d}.md").write_text(text + "\n", encoding="utf-8")
    return _commit_all(folder, "documents")


def _leaf(source: Path, target: Path, edit: dict[str, object]) -> None:
    data = yaml.safe_load((source / "qna.yaml").read_text(encoding="utf-8"))
    data.update(edit)
    target.mkdir(parents=True)
    (target / "qna.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copy2(source / "attribution.txt", target / "attribution.txt")


def build_taxonomy(repo: Path, leaves: int, docs_url: str, docs_commit: str) -> None:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shutil.copytree(ROOT / "training", repo / "training")
    # the document repository is a local folder: allowed as a mirror, as a private deployment would
    mirrors = Path(docs_url.removeprefix("file://")).parent
    (repo / "seedtree.yaml").write_text(f"documents:\n  allowed_local: ['{mirrors}']\n")
    for i in range(leaves):
        group = f"group_{i // 100:03d}"
        if i % 2 == 0:
            document = {
                "repo": docs_url,
                "commit": docs_commit,
                "patterns": [f"docs/{i // 2:05d}.md"],
            }
            target = repo / "taxonomy/knowledge/bench" / group / f"leaf_{i:05d}"
            _leaf(KNOWLEDGE, target, {"document": document, "domain": f"bench {i}"})
        else:
            target = repo / "taxonomy/compositional_skills/bench" / group / f"leaf_{i:05d}"
            _leaf(SKILL, target, {"task_description": f"Write haiku number {i}."})
    _commit_all(repo, "taxonomy")


def release_v1(repo: Path) -> float:
    """Record v1 on HEAD as a retrain would (tag + artifacts): every leaf at its content hash
    (documents fetched once, which fills the digest cache). Returns the hashing's seconds."""
    sys.path.insert(0, str(TOOLING))
    from seedtree.git import head_commit
    from seedtree.home import RepoHome
    from seedtree.taxonomy.doccache import cached_leaf_hash
    from seedtree.taxonomy.leaves import load_taxonomy
    from seedtree.versions.lineage import GateDecision, Lineage, now
    from seedtree.versions.tags import tag_release

    started = time.perf_counter()
    leaves = {leaf.id: cached_leaf_hash(leaf, repo) for leaf in load_taxonomy(repo / "taxonomy")}
    seconds = time.perf_counter() - started
    gate = GateDecision(
        passed=True, reasons=(), learned={}, forgotten={}, min_learning=0.0, max_forgetting=1.0
    )
    lineage = Lineage(
        version="v1", commit=head_commit(repo), previous=None, base_model="default",
        leaves=leaves, trained=dict(leaves), removed=(), renamed={},
        data_hash="0" * 64, recipe_hash="0" * 64, metrics={}, gate=gate, created_at=now(),
    )  # fmt: skip
    tag_release(repo, lineage)
    model = RepoHome.of(repo).version("v1") / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    return seconds


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dry_run(repo: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (the git processes it starts included) of one dry run."""
    env = {**os.environ, "PYTHONPATH": str(TOOLING)}
    command = [sys.executable, "-m", "seedtree", "retrain", "--dry-run", "-C", str(repo)]
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"retrain --dry-run failed ({done.returncode}):\n{done.stderr}")
    return seconds, _cpu() - cpu, done.stdout


def load_only(repo: Path) -> float:
    code = (
        "from pathlib import Path; from seedtree.taxonomy.leaves import load_taxonomy; "
        f"print(len(load_taxonomy(Path({str(repo / 'taxonomy')!r}))))"
    )
    env = {**os.environ, "PYTHONPATH": str(TOOLING)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _median(runs: int, measure: Callable[[], tuple[float, float, str]]) -> tuple[float, float, str]:
    results = [measure() for _ in range(runs)]
    wall = statistics.median(r[0] for r in results)
    return wall, statistics.median(r[1] for r in results), results[-1][2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--leaves", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seedtree-bench-plan-"))
    os.environ["SEEDTREE_HOME"] = str(tmp / "home")
    os.environ.pop("SEEDTREE_MODELS_DIR", None)
    try:
        return run(tmp, args.leaves, args.runs)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path, leaves: int, runs: int) -> int:
    docs_commit = build_documents(tmp / "documents", (leaves + 1) // 2)
    repo = tmp / "repo"
    build_taxonomy(repo, leaves, f"file://{tmp / 'documents'}", docs_commit)
    first = release_v1(repo)
    (repo / "README.md").write_text("an unrelated change\n", encoding="utf-8")
    _commit_all(repo, "unrelated")
    print(f"{leaves} leaves ({(leaves + 1) // 2} on remote documents); v1 hashed in {first:.1f} s")
    warm, warm_cpu, out = _median(runs, lambda: dry_run(repo))
    print(out.strip().splitlines()[0])
    cache = Path(os.environ["SEEDTREE_HOME"]) / "documents"

    def cold() -> tuple[float, float, str]:
        shutil.rmtree(cache, ignore_errors=True)
        return dry_run(repo)

    cold_s, cold_cpu, _ = _median(runs, cold)
    load_s = statistics.median(load_only(repo) for _ in range(runs))
    verdict = "ok" if warm <= TARGET_S else "short"
    print(f"taxonomy load alone (for information): {load_s:.2f} s")
    print(f"RESULT retrain_plan_cold_s={cold_s:.2f} target=none ok")
    print(f"RESULT retrain_plan_cold_cpu_s={cold_cpu:.2f} target=none ok")
    print(f"RESULT retrain_plan_cpu_s={warm_cpu:.2f} target=none ok")
    print(f"RESULT retrain_plan_speedup_x={cold_s / warm:.1f} target=none ok")
    print(f"RESULT retrain_plan_s={warm:.2f} target={TARGET_S:.0f} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
