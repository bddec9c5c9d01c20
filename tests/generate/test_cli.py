from __future__ import annotations

import json
from pathlib import Path

import pytest

from generate.conftest import KNOWLEDGE, SKILL
from seedtree.cli import run


@pytest.fixture
def whitespace_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDTREE__GENERATE__TOKENIZER", "whitespace")


@pytest.mark.usefixtures("whitespace_chunks")
def test_dry_run_prints_the_cost_per_leaf_and_calls_no_teacher(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = repo / "taxonomy" / SKILL
    assert run(["generate", str(leaf), "--samples", "10", "--dry-run", "-C", str(repo)]) == 0
    out = capsys.readouterr().out
    assert SKILL in out and KNOWLEDGE not in out
    # 10 samples, 5 per prompt, cap 4x: 2..8 prompts; 3 calls (judge, answer, judge) per candidate
    assert "32–128" in out
    assert not (Path(str(repo)) / ".seedtree").exists()


@pytest.mark.usefixtures("whitespace_chunks")
def test_changed_selects_only_changed_leaves(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import git

    git(repo, "checkout", "-qb", "topic")
    qna = repo / "taxonomy" / KNOWLEDGE / "qna.yaml"
    qna.write_text(qna.read_text().replace("history of technology", "history of transport"))
    code = run(["generate", "--changed", "--base", "main", "--dry-run", "-C", str(repo)])
    assert code == 0
    out = capsys.readouterr().out
    assert KNOWLEDGE in out and SKILL not in out


def test_bad_paths_are_usage_errors(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["generate", str(repo / "nowhere"), "-C", str(repo)]) == 2
    assert "no such leaf folder" in " ".join(capsys.readouterr().err.split())
    leaf = str(repo / "taxonomy" / SKILL)
    assert run(["generate", leaf, "--changed", "-C", str(repo)]) == 2


@pytest.mark.slow
def test_embedded_teacher_generates_a_small_dataset_end_to_end(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {
        "MAX_TOKENS": "32",
        "QUESTIONS_PER_PROMPT": "2",
        "MAX_ATTEMPTS_FACTOR": "2",
        "CHUNK_TOKENS": "100",
        "CHUNK_OVERLAP": "10",
    }.items():
        monkeypatch.setenv(f"SEEDTREE__GENERATE__{key}", value)
    # one skill leaf keeps this within the time budget on 2 cores; bench/generate.py runs every
    # leaf type with the embedded teacher
    paths = [str(repo / "taxonomy" / SKILL)]
    out = repo.parent / "datasets"
    argv = ["generate", *paths, "--samples", "1", "--out", str(out), "-C", str(repo), "--quiet"]
    assert run(argv) == 0
    first = capsys.readouterr().out
    assert "generation funnel" in first
    for leaf in (SKILL,):
        funnel = json.loads((out / leaf / "funnel.json").read_text())["funnel"]
        assert funnel["attempts"] == funnel["attempt_cap"] == 1 or funnel["accepted"] == 1
        assert funnel["completions"] == funnel["prompts_sent"] > 0
        assert funnel["parsed"] == funnel["duplicates"] + funnel["after_dedup"]
        assert funnel["teacher_calls"] == funnel["prompts_sent"] + funnel["judge_requests"]
        rows = [json.loads(x) for x in (out / leaf / "samples.jsonl").read_text().splitlines()]
        assert len(rows) == funnel["accepted"] <= 1
        for row in rows:
            assert row["metadata"]["teacher"]["id"].startswith("embedded:")
            assert row["messages"][2]["content"].strip()
    assert run(argv) == 0  # nothing changed: every answer comes from the store
    assert "(0 teacher calls" in capsys.readouterr().out
