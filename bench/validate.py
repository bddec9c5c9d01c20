"""Benchmark: ``seedtree validate`` against InstructLab's reference validator, same files, same run.

Two workloads: the real corpora in ``../shared/corpus`` (skipped when absent) and a synthetic
taxonomy of 2,500 leaves built from real leaves (the corpus, or the sample taxonomy without
it), each in its own folder with its attribution. Ours is one ``seedtree validate --format json``
process over the whole tree, start-up included (the median of three runs). The baseline is
``instructlab-schema``'s TaxonomyParser (the ``dev`` extra) validating the same files against
their own versions, as ``ilab taxonomy diff`` does, in-process. The target is on wall time (ours
uses every core); the CPU ratio is printed for information. Also measured: one file, wall time
of a fresh process (the median of five).

    .venv/bin/python bench/validate.py
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
SEEDTREE = Path(sys.executable).parent / "seedtree"
LEAVES = 2500
TARGET_RATIO = 20.0
TARGET_ONE_FILE_S = 0.5
OUR_RUNS = 3


def _leaf_sources() -> list[Path]:
    base = CORPUS if CORPUS.exists() else ROOT / "taxonomy"
    return sorted(p.parent for p in base.rglob("qna.yaml"))


def build_synthetic(root: Path, count: int = LEAVES) -> None:
    sources = _leaf_sources()
    for index in range(count):
        source = sources[index % len(sources)]
        top = next(
            p
            for p in source.parts
            if p in ("knowledge", "compositional_skills", "foundational_skills")
        )
        target = root / top / f"group_{index % 50:02d}" / f"leaf_{index:04d}"
        target.mkdir(parents=True)
        for name in ("qna.yaml", "attribution.txt"):
            if (source / name).is_file():
                shutil.copyfile(source / name, target / name)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_ours(paths: list[Path]) -> tuple[float, float, dict[str, object]]:
    """Wall and CPU seconds of one ``seedtree validate`` process (all its workers), its report."""
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(SEEDTREE), "validate", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"seedtree validate failed: {done.stderr}")
    report: dict[str, object] = json.loads(done.stdout)
    return elapsed, _cpu(resource.RUSAGE_CHILDREN) - cpu, report


def run_reference(files: list[Path]) -> tuple[float, float, int] | None:
    """Wall and CPU seconds (its own and its yamllint subprocesses') of the reference parser."""
    try:
        from instructlab.schema.taxonomy import TaxonomyParser
    except ImportError:
        return None
    env_path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env_path}"  # its yamllint
    logging.disable(logging.CRITICAL)
    parser = TaxonomyParser(schema_version=0, message_format="standard")
    invalid = 0
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    for path in files:
        with contextlib.redirect_stdout(io.StringIO()):
            invalid += parser.parse(path).errors > 0
    elapsed = time.perf_counter() - started
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu
    logging.disable(logging.NOTSET)
    os.environ["PATH"] = env_path
    return elapsed, cpu, invalid


def one_file_wall(path: Path) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([str(SEEDTREE), "validate", str(path)], capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _unlocated(report: dict[str, object]) -> int:
    findings = report["findings"]
    assert isinstance(findings, list)
    return sum(1 for f in findings if f["line"] < 1 or f["column"] < 1)


def workload(name: str, paths: list[Path]) -> tuple[float | None, float | None, int]:
    """Run both validators on ``paths``; the wall and CPU ratios (reference / ours)."""
    files = sorted(p for base in paths for p in base.rglob("qna.yaml"))
    # ours takes about a second: the median of a few runs, so that one slow start does not decide
    wall, cpu, report = sorted((run_ours(paths) for _ in range(OUR_RUNS)), key=lambda r: r[0])[
        OUR_RUNS // 2
    ]
    summary = report["summary"]
    assert isinstance(summary, dict)
    print(
        f"{name}: {len(files)} files; seedtree {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"({len(files) / wall:.0f} files/s), {summary['errors']} errors, "
        f"{summary['warnings']} warnings"
    )
    print(f"RESULT validate_{name}_files_per_s={len(files) / wall:.0f} target=none ok")
    reference = run_reference(files)
    if reference is None:
        print(f"{name}: instructlab-schema not installed: no reference run")
        return None, None, _unlocated(report)
    ref_wall, ref_cpu, invalid = reference
    print(
        f"{name}: reference TaxonomyParser {ref_wall:.2f} s wall, {ref_cpu:.2f} s CPU "
        f"({len(files) / ref_wall:.0f} files/s, {invalid} invalid); "
        f"ratio {ref_wall / wall:.1f}x wall, {ref_cpu / cpu:.1f}x CPU"
    )
    return ref_wall / wall, ref_cpu / cpu, _unlocated(report)


def _result(name: str, value: float, target: float, higher_is_better: bool) -> None:
    ok = value >= target if higher_is_better else value <= target
    print(f"RESULT {name}={value:.2f} target={target} {'ok' if ok else 'short'}")


def main() -> int:
    unlocated = 0
    if CORPUS.exists():
        trees = sorted(p for p in CORPUS.iterdir() if p.is_dir())
        ratio, cpu_ratio, bad = workload("corpus", trees)
        unlocated += bad
        if ratio is not None and cpu_ratio is not None:
            _result("validate_corpus_ratio", ratio, TARGET_RATIO, True)
            print(f"RESULT validate_corpus_cpu_ratio={cpu_ratio:.2f} target=none ok")
    else:
        print("corpus absent: skipping the real corpora")
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "taxonomy"
        build_synthetic(tree)
        ratio, cpu_ratio, bad = workload("synthetic", [tree])
        unlocated += bad
        if ratio is not None and cpu_ratio is not None:
            _result("validate_synthetic_ratio", ratio, TARGET_RATIO, True)
            print(f"RESULT validate_synthetic_cpu_ratio={cpu_ratio:.2f} target=none ok")
    one = one_file_wall(
        ROOT / "taxonomy" / "compositional_skills" / "writing" / "poetry" / "haiku" / "qna.yaml"
    )
    print(f"one file: {one:.3f} s wall, fresh process")
    _result("validate_one_file_s", one, TARGET_ONE_FILE_S, False)
    verdict = "ok" if unlocated == 0 else "short"
    print(f"RESULT validate_unlocated_findings={unlocated} target=0 {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
