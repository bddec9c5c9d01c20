"""The store: nothing asked twice, edits and prompt changes regenerate only what they touch."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from generate.conftest import KNOWLEDGE, SKILL, leaves_of
from generate.scripted import ScriptedTeacher
from helpers import git
from seedtree.config import GenerateConfig
from seedtree.generate.prompts import SHIPPED_DIR
from seedtree.generate.run import GenerationReport, generate_leaves
from seedtree.home import RepoHome

HERE = Path(__file__).resolve().parent


def run(repo: Path, out: Path, config: GenerateConfig) -> tuple[GenerationReport, ScriptedTeacher]:
    teacher = ScriptedTeacher()
    report = generate_leaves(
        leaves_of(repo), teacher, repo_root=repo, config=config, out_dir=out, quiet=True
    )
    return report, teacher


def datasets(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("samples.jsonl"))}


def test_a_rerun_with_nothing_changed_makes_no_teacher_call(
    repo: Path, tmp_path: Path, config: GenerateConfig
) -> None:
    first, teacher = run(repo, tmp_path / "a", config)
    assert teacher.total == first.teacher_calls > 0
    again, teacher = run(repo, tmp_path / "b", config)
    assert teacher.total == again.teacher_calls == 0
    assert datasets(tmp_path / "a") == datasets(tmp_path / "b")
    assert all(r.funnel.from_store > 0 for r in again.leaves.values())


def test_editing_one_leaf_regenerates_that_leaf_only(
    repo: Path, tmp_path: Path, config: GenerateConfig
) -> None:
    before, _ = run(repo, tmp_path / "a", config)
    qna = repo / "taxonomy" / SKILL / "qna.yaml"
    qna.write_text(qna.read_text().replace("  Write a haiku", "  Please write a haiku", 1))
    after, teacher = run(repo, tmp_path / "b", config)
    calls = {leaf_id: r.funnel.teacher_calls for leaf_id, r in after.leaves.items()}
    assert calls[SKILL] > 0 and sum(calls.values()) == calls[SKILL] == teacher.total
    assert after.leaves[SKILL].leaf_hash != before.leaves[SKILL].leaf_hash
    old, new = datasets(tmp_path / "a"), datasets(tmp_path / "b")
    assert {k for k in old if old[k] != new[k]} == {f"{SKILL}/samples.jsonl"}


def test_changing_a_prompt_regenerates_only_the_stages_that_use_it(
    repo: Path, tmp_path: Path, config: GenerateConfig
) -> None:
    run(repo, tmp_path / "a", config)
    prompts = repo / "prompts"
    prompts.mkdir()
    text = (SHIPPED_DIR / "judge_pair.j2").read_text().replace("version: 1", "version: 2")
    (prompts / "judge_pair.j2").write_text(text.replace("Rate the answer", "Rate this answer"))
    changed = config.model_copy(update={"prompts_dir": "prompts"})
    report, teacher = run(repo, tmp_path / "b", changed)
    pair_judged = sum(r.funnel.passed_pair or 0 for r in report.leaves.values())
    assert set(teacher.calls) == {"judge_pair"} and teacher.calls["judge_pair"] == pair_judged
    sample = report.leaves[SKILL].samples[0]["metadata"]
    assert sample["prompt_version"]["judge_pair"].startswith("judge_pair@2#")
    assert report.leaves[KNOWLEDGE].funnel.teacher_calls == 0


def _stored(home: Path, repo: Path, stages: tuple[str, ...] = ()) -> int:
    env_home = os.environ["SEEDTREE_HOME"]
    os.environ["SEEDTREE_HOME"] = str(home)
    try:
        db = RepoHome.of(repo).answers
    finally:
        os.environ["SEEDTREE_HOME"] = env_home
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            if not stages:
                return int(conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
            marks = ",".join("?" * len(stages))
            query = f"SELECT COUNT(*) FROM answers WHERE stage IN ({marks})"
            return int(conn.execute(query, stages).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def _script(
    repo: Path, out: Path, home: Path, delay: float, slow: str = ""
) -> subprocess.Popen[str]:
    env = {**os.environ, "SEEDTREE_HOME": str(home)}
    command = [sys.executable, str(HERE / "run_scripted.py"), str(repo), str(out), str(delay), "6"]
    return subprocess.Popen(
        [*command, *([slow] if slow else [])], env=env, stdout=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str]) -> int:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    return int(out.strip().splitlines()[-1])


def test_sigkill_at_any_moment_then_rerun_gives_the_uninterrupted_dataset(
    repo: Path, tmp_path: Path
) -> None:
    full_calls = _finish(_script(repo, tmp_path / "full", tmp_path / "home-full", 0.0))
    home = tmp_path / "home-killed"
    victim = _script(repo, tmp_path / "killed", home, 0.01)
    deadline = time.monotonic() + 60
    while _stored(home, repo) < full_calls // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    stored = _stored(home, repo)
    assert 0 < stored < full_calls  # killed mid-run, with answers already stored
    resumed_calls = _finish(_script(repo, tmp_path / "killed", home, 0.0))
    assert resumed_calls + stored == full_calls  # nothing lost, nothing asked twice
    assert datasets(tmp_path / "killed") == datasets(tmp_path / "full")
    assert len(datasets(tmp_path / "full")) == 5


AUGMENT = ("summary_detailed", "summary_extractive", "atomic_facts")


def test_sigkill_during_the_augmentations_then_rerun_gives_the_uninterrupted_dataset(
    repo: Path, tmp_path: Path
) -> None:
    full_calls = _finish(_script(repo, tmp_path / "full", tmp_path / "home-full", 0.0))
    augmentations = _stored(tmp_path / "home-full", repo, AUGMENT)
    home = tmp_path / "home-killed"
    victim = _script(repo, tmp_path / "killed", home, 0.05, ",".join(AUGMENT))
    deadline = time.monotonic() + 90
    while _stored(home, repo, AUGMENT) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    stored = _stored(home, repo)
    assert 0 < _stored(home, repo, AUGMENT) < augmentations  # killed among the augmentations
    resumed_calls = _finish(_script(repo, tmp_path / "killed", home, 0.0))
    assert resumed_calls + stored == full_calls  # nothing lost, nothing asked twice
    assert datasets(tmp_path / "killed") == datasets(tmp_path / "full")
    rows = (tmp_path / "killed" / KNOWLEDGE / "samples.jsonl").read_text().splitlines()
    sources = {json.loads(row)["metadata"]["source"] for row in rows}
    assert sources == {"document", *AUGMENT, "knowledge_qa", "knowledge_raft"}


def test_gc_keeps_live_leaves_and_released_hashes(
    repo: Path, tmp_path: Path, config: GenerateConfig, capsys: object
) -> None:
    from seedtree.cli import run as cli

    before, _ = run(repo, tmp_path / "a", config)
    old_hash = before.leaves[SKILL].leaf_hash
    qna = repo / "taxonomy" / SKILL / "qna.yaml"
    qna.write_text(qna.read_text().replace("  Write a haiku", "  Please write a haiku", 1))
    git(repo, "commit", "-qam", "edit")
    run(repo, tmp_path / "b", config)
    assert cli(["cache", "gc", "-C", str(repo), "--keep", old_hash]) == 0
    assert "dropped 0 entries" in capsys.readouterr().out  # type: ignore[attr-defined]
    assert cli(["cache", "gc", "-C", str(repo)]) == 0
    dropped = before.leaves[SKILL].funnel.teacher_calls
    assert f"dropped {dropped} entries" in capsys.readouterr().out  # type: ignore[attr-defined]
    _, teacher = run(repo, tmp_path / "c", config)
    assert teacher.total == 0  # live answers survived
    assert cli(["cache", "info", "-C", str(repo)]) == 0
    shown = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "answers.sqlite" in shown and "for 5 leaf hash(es)" in shown
