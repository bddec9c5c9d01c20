"""The GitHub workflows: schema-valid, audited by zizmor offline, and least-privilege by design."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
NAMES = ("validate", "preview", "preview-comment", "preview-production", "retrain", "tooling")
PINNED = re.compile(r"uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_workflows_exist() -> None:
    assert sorted(p.stem for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


def test_workflows_validate_against_the_github_schema() -> None:
    files = [str(WORKFLOWS / f"{n}.yml") for n in NAMES]
    cmd = [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _zizmor(*extra: str) -> list[dict[str, Any]]:
    cmd = [_tool("zizmor"), "--offline", "--format", "json", *extra, str(WORKFLOWS)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 10, 11, 12, 13, 14), done.stderr  # >= 10: findings present
    return list(json.loads(done.stdout or "[]"))


def _where(finding: dict[str, Any]) -> str:
    key = finding["locations"][0]["symbolic"]["key"]  # {"Local": {"<kind>_path": "..."}}
    return str(next(iter(key["Local"].values())))


def test_zizmor_finds_nothing_high_and_ignores_only_the_workflow_run() -> None:
    high = [f for f in _zizmor() if f["determinations"]["severity"] == "High"]
    assert high == []
    unignored = [f for f in _zizmor("--no-ignores") if f["determinations"]["severity"] == "High"]
    assert sorted((f["ident"], Path(_where(f)).name) for f in unignored) == [
        ("dangerous-triggers", "preview-comment.yml"),
        ("dangerous-triggers", "preview-production.yml"),
    ]
    text = (WORKFLOWS / "preview-comment.yml").read_text(encoding="utf-8")
    ignore = text.index("zizmor: ignore[dangerous-triggers]")
    assert "never checks out or runs PR code" in text[ignore : ignore + 300]
    text = (WORKFLOWS / "preview-production.yml").read_text(encoding="utf-8")
    ignore = text.index("zizmor: ignore[dangerous-triggers]")
    assert "never checks out or runs" in text[ignore : ignore + 300]


@pytest.mark.parametrize("name", NAMES)
def test_least_privilege_and_no_pull_request_target(name: str) -> None:
    workflow = _load(name)
    assert workflow["permissions"] == {}
    assert "pull_request_target" not in workflow["on"]
    for job in workflow["jobs"].values():
        perms = job["permissions"]
        assert isinstance(perms, dict) and perms, "every job states its permissions"
        assert set(perms.values()) <= {"read", "write"}


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_by_full_sha_with_the_version(name: str) -> None:
    lines = (WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8").splitlines()
    uses = [line.strip().removeprefix("- ") for line in lines if "uses:" in line]
    assert uses
    for line in uses:
        assert PINNED.search(line), line
    for step in _steps(_load(name)):
        if "actions/checkout@" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False


def test_preview_is_read_only_without_secrets_on_a_hosted_runner() -> None:
    workflow = _load("preview")
    values = yaml.safe_dump(workflow)  # everything but the comments
    assert "secrets" not in values and "github.token" not in values
    assert list(workflow["on"]) == ["pull_request"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert job["runs-on"] == "ubuntu-latest"
    assert "download.pytorch.org/whl/cpu" in job["env"]["PIP_EXTRA_INDEX_URL"]
    cached = {s["with"]["path"] for s in _steps(workflow) if "actions/cache@" in s.get("uses", "")}
    assert cached == {"~/.cache/pip", job["env"]["SEEDTREE_MODELS_DIR"]}
    upload = next(s for s in _steps(workflow) if "upload-artifact@" in s.get("uses", ""))
    assert upload["with"]["name"] == "preview"
    assert "pr-number" in values


def test_preview_comment_never_touches_pr_code() -> None:
    workflow = _load("preview-comment")
    assert list(workflow["on"]) == ["workflow_run"]
    assert workflow["on"]["workflow_run"]["workflows"] == ["preview"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    for step in _steps(workflow):
        if "actions/checkout@" in step.get("uses", ""):
            assert set(step.get("with", {})) == {"persist-credentials"}, "default branch only"
        run = step.get("run", "")
        assert "head_sha" not in run and "head_branch" not in run and "${{" not in run
    parse = next(s for s in _steps(workflow) if s.get("id") == "pr")
    assert "^[1-9][0-9]{0,8}$" in parse["run"]
    post = _steps(workflow)[-1]
    assert "--head-sha" in post["run"] and "preview.json" in post["run"]


def test_retrain_runs_only_on_push_to_main_on_the_gpu_runner_queued() -> None:
    workflow = _load("retrain")
    assert list(workflow["on"]) == ["push"]
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "taxonomy/**" in workflow["on"]["push"]["paths"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == ["self-hosted", "gpu"]
    runs = " ".join(s.get("run", "") for s in _steps(workflow))
    assert "seedtree retrain" in runs and "seedtree comment" in runs
    assert any("upload-artifact@" in s.get("uses", "") for s in _steps(workflow))


def test_validate_always_runs_with_full_history() -> None:
    workflow = _load("validate")
    assert workflow["on"] == {"pull_request": None}, "no paths filter: the check always reports"
    checkout = _steps(workflow)[0]
    assert checkout["with"]["fetch-depth"] == 0
    runs = " ".join(s.get("run", "") for s in _steps(workflow))
    assert "pre-commit run" in runs and "--from-ref" in runs
    assert "seedtree validate --changed" in runs and "--format github" in runs


def test_production_preview_is_asked_for_checked_and_reads_the_pr_as_data() -> None:
    workflow = _load("preview-production")
    assert set(workflow["on"]) == {"issue_comment", "workflow_dispatch"}
    assert workflow["on"]["issue_comment"]["types"] == ["created"]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "issue.number" in workflow["concurrency"]["group"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "startsWith(github.event.comment.body, '/seedtree preview')" in job["if"]
    steps = _steps(workflow)
    checkout = steps[0]
    assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    gate = next(s for s in steps if s.get("id") == "gate")
    assert "seedtree authorize" in gate["run"] and "$ASKER" in gate["run"]
    after = steps[steps.index(gate) + 1 :]
    gated = "steps.gate.outputs.allowed == 'true'"
    assert after and all(s["if"] == gated or s["if"].startswith(gated + " && ") for s in after)
    before = yaml.safe_dump(steps[: steps.index(gate) + 1])
    assert "secrets" not in before, "no secret before the permission is known"
    build = next(s for s in after if "--pull-request" in s.get("run", ""))
    assert set(build["env"]) == {"OPENAI_API_KEY", "SEEDTREE_PRECHECK_API_KEY", "GITHUB_TOKEN"}
    assert build["env"]["GITHUB_TOKEN"] == "${{ github.token }}"  # a private repository's ref
    assert "--remote-token-env GITHUB_TOKEN" in build["run"]  # through git's environment only
    assert after[-1]["if"] == f"{gated} && steps.{build['id']}.outputs.current == 'true'"
    for step in steps:
        run = step.get("run", "")
        assert "${{" not in run and "git checkout" not in run  # the default branch only
    assert "--head-sha" in after[-1]["run"] and "preview.json" in after[-1]["run"]
