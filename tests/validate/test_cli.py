"""``seedtree validate`` as users run it: exit codes, the three formats, options."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import corpus_or_skip
from seedtree.cli import run

HAIKU = Path("taxonomy/compositional_skills/writing/poetry/haiku")


@pytest.fixture
def repo(make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo()
    monkeypatch.chdir(root)
    return root


def _break_haiku(root: Path) -> None:
    qna = root / HAIKU / "qna.yaml"
    text = qna.read_text().replace(
        "created_by: seedtree-maintainers\n", "created_by: a\ncreated_by: b\n"
    )
    qna.write_text(text)


def test_clean_sample_taxonomy(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate"]) == 0
    assert capsys.readouterr().out.strip() == "5 files checked: no problems"


def test_text_report_shows_source_and_caret(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _break_haiku(repo)
    assert run(["validate"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{HAIKU.as_posix()}/qna.yaml:4:1: error [duplicate-key] ")
    assert lines[1] == "  created_by: b"
    assert lines[2] == "  ^"
    assert lines[-1] == "5 files checked: 1 error, 0 warnings in 1 file"


def test_json_report(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _break_haiku(repo)
    (repo / HAIKU / "attribution.txt").unlink()
    assert run(["validate", "--format", "json"]) == 1
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["summary"] == {"files": 5, "errors": 2, "warnings": 0, "files_with_findings": 1}
    assert {f["rule"] for f in report["findings"]} == {"duplicate-key", "attribution-missing"}
    for finding in report["findings"]:
        assert set(finding) == {"file", "line", "column", "severity", "rule", "message"}
    one_a_line = [json.loads(line.strip().rstrip(",")) for line in out.splitlines()[9:11]]
    assert one_a_line == report["findings"]


def test_json_report_without_findings(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == []
    assert report["summary"]["files"] == 5


def test_github_annotations_chosen_under_actions(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_haiku(repo)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert run(["validate", str(HAIKU)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"::error file={HAIKU.as_posix()}/qna.yaml,line=4,col=1,title=duplicate-key::"
    )
    assert out[-1] == "1 file checked: 1 error, 0 warnings in 1 file"


def test_warnings_fail_only_with_strict(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leaf = repo / "taxonomy/compositional_skills/writing/Poetry_Forms/haiku"
    leaf.parent.mkdir(parents=True)
    (repo / HAIKU).rename(leaf)
    assert run(["validate"]) == 0
    assert "warning [folder-name]" in capsys.readouterr().out
    assert run(["validate", "--strict"]) == 1


def test_missing_path_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "no/such/leaf"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_schema_version_latest_ratchets_old_files(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qna = repo / HAIKU / "qna.yaml"
    qna.write_text(qna.read_text().replace("version: 3\n", "version: 2\n"))
    assert run(["validate", str(HAIKU)]) == 0
    assert run(["validate", "--schema-version", "latest", str(HAIKU)]) == 1
    assert "[version-outdated] version is 2; changed files must use version 3" in (
        capsys.readouterr().out
    )


def test_misnamed_file_is_found_in_a_tree(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / HAIKU / "qna.yaml").rename(repo / HAIKU / "qna.yml")
    assert run(["validate"]) == 1
    assert f"{HAIKU.as_posix()}/qna.yml:1:1: error [file-name]" in capsys.readouterr().out


def test_attribution_path_validates_its_leaf(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["validate", str(HAIKU / "attribution.txt")]) == 0
    assert capsys.readouterr().out.strip() == "1 file checked: no problems"


def test_real_tree_validates_as_it_stands(capsys: pytest.CaptureFixture[str]) -> None:
    tree = corpus_or_skip("instructlab-taxonomy-2024-08")
    assert run(["validate", "--format", "json", str(tree)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["files"] == len(list(tree.rglob("qna.yaml")))
    errors = {
        (f["rule"], Path(f["file"]).parent.name)
        for f in report["findings"]
        if f["severity"] == "error"
    }
    assert ("schema-version", "ibm_history") in errors


def test_one_file_imports_nothing_heavy(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "seedtree", "validate", str(HAIKU / "qna.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert "seedtree" in imported
    assert not imported & {"torch", "transformers", "git", "jsonschema", "httpx", "jinja2", "rich"}


def test_repository_root_means_its_taxonomy(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "seedtree.yaml").write_text("taxonomy_dir: taxonomy\n")
    fixture = repo / "tests/cases/compositional_skills/broken/leaf"
    fixture.mkdir(parents=True)
    (fixture / "qna.yaml").write_text("version: [\n")
    assert run(["validate", "."]) == 0
    assert capsys.readouterr().out.strip() == "5 files checked: no problems"
