"""``seedtree init`` on a hostile repository, and ``fmt``/``migrate`` on a linked ``qna.yaml``:
crafted folder names inject no key, and nothing is read or written through a symbolic link.

Each attack is committed to a real git repository and run through the real CLI; what init writes
is parsed back and compared key by key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from attacks import SECRET, files_containing, run_cli

from helpers import PROJECT_ROOT, git
from seedtree.adopt.commands import config_text
from seedtree.adopt.render import pinned_setup, workflow

URL = "https://github.com/example/seedtree"
REV = "0" * 40
SKILL = "taxonomy/compositional_skills/math/unit_conversion/qna.yaml"
# Each name, written unquoted into YAML, would add a key (or a trigger) of its own; a folder name
# holds no "/", so the injected value spells it "\x2f" inside double quotes.
HOSTILE_NAMES = [
    'tax\ndocuments:\n  allowed_local: ["\\x2f"]\n#',
    'tax**"\n  workflow_dispatch:\n#',
    'tax: {documents: {allowed_local: ["\\x2f"]}} #',
    "tax'\"\\",
]


def _commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "contribution")


def _init(repo: Path, *extra: str) -> Any:
    return run_cli(repo, "init", "--source", str(PROJECT_ROOT), "--url", URL, *extra)


def _flat(output: str) -> str:
    """Output with its line wrapping undone."""
    return " ".join(output.split())


def _written(repo: Path) -> list[str]:
    names = ("seedtree.yaml", ".pre-commit-config.yaml", ".github", ".seedtree")
    return [name for name in names if (repo / name).exists() or (repo / name).is_symlink()]


def _on(text: str) -> dict[str, Any]:
    parsed = yaml.safe_load(text)
    return dict(parsed.get("on") or parsed.get(True))  # PyYAML reads the key `on` as True


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_crafted_taxonomy_folder_name_is_refused(
    name: str, make_repo: Callable[..., Path]
) -> None:
    repo = make_repo()
    (repo / "taxonomy").rename(repo / name)
    _commit(repo)
    run = _init(repo)
    assert run.code == 2, run.output
    assert "is not a plain name" in _flat(run.output) and "Traceback" not in run.output
    assert _written(repo) == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_generated_yaml_holds_a_crafted_name_as_one_value(name: str) -> None:
    """Were such a name ever let through, it stays a string: the keys are exactly ours."""
    config = yaml.safe_load(config_text(name))
    assert config == {"taxonomy_dir": name, "validate": {"baseline": ".seedtree/baseline.json"}}
    plain = _on(workflow("retrain", pinned_setup("tax", URL, REV)))
    crafted = _on(workflow("retrain", pinned_setup(name, URL, REV)))
    assert crafted.keys() == plain.keys()
    paths = [f"{name}/**", *plain["push"]["paths"][1:]]
    assert plain["push"]["paths"][0] == "tax/**"
    assert crafted["push"] == {**plain["push"], "paths": paths}


def test_init_writes_exactly_the_intended_keys(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    run = _init(repo)
    assert run.code == 0, run.output
    config = yaml.safe_load((repo / "seedtree.yaml").read_text(encoding="utf-8"))
    assert config == {
        "taxonomy_dir": "taxonomy",
        "validate": {"baseline": ".seedtree/baseline.json"},
    }
    retrain = _on((repo / ".github/workflows/retrain.yml").read_text(encoding="utf-8"))
    assert retrain["push"]["paths"] == ["taxonomy/**", "seedtree.yaml", "training/**"]


@pytest.mark.parametrize("link", [".seedtree", ".github", ".github/workflows"])
@pytest.mark.parametrize("check", [False, True])
def test_init_never_writes_through_a_committed_link(
    link: str, check: bool, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / link).parent.mkdir(parents=True, exist_ok=True)
    (repo / link).symlink_to(outside, target_is_directory=True)
    _commit(repo)
    run = _init(repo, *(["--check"] if check else []))
    assert run.code == 2, run.output
    assert "is a symbolic link" in _flat(run.output) and "Traceback" not in run.output
    assert list(outside.iterdir()) == []
    assert not (repo / "seedtree.yaml").exists()


@pytest.mark.parametrize("link", [".pre-commit-config.yaml", "seedtree.yaml"])
def test_init_never_reads_through_a_linked_file(
    link: str, make_repo: Callable[..., Path], secret_file: Path
) -> None:
    """A file init would compare with its own (and show the difference of) is a link out."""
    repo = make_repo()
    (repo / link).symlink_to(secret_file)
    _commit(repo)
    before = secret_file.read_bytes()
    for extra in ([], ["--check"]):
        run = _init(repo, *extra)
        assert run.code == 2 and SECRET not in run.output, run.output
    assert secret_file.read_bytes() == before
    assert (repo / link).is_symlink()


def _outside_leaf(secret_file: Path) -> Path:
    """A badly formatted v2 skill outside the repository (fmt and migrate would both change it)."""
    text = (PROJECT_ROOT / SKILL).read_text(encoding="utf-8")
    text = text.replace("version: 3", "version: 2").replace("created_by:", "created_by:   ", 1)
    leaf = secret_file.parent / "qna.yaml"
    leaf.write_text(text + f"# {SECRET}   \n", encoding="utf-8")
    return leaf


@pytest.mark.parametrize("command", [["fmt"], ["migrate"]])
def test_a_linked_qna_yaml_leaving_the_repository_is_refused(
    command: list[str], make_repo: Callable[..., Path], secret_file: Path
) -> None:
    repo = make_repo()
    outside = _outside_leaf(secret_file)
    before = outside.read_bytes()
    linked = repo / "taxonomy/compositional_skills/linked"
    linked.mkdir()
    (linked / "qna.yaml").symlink_to(outside)
    (repo / "taxonomy/compositional_skills/folder").symlink_to(outside.parent)
    _commit(repo)
    targets = [[], ["taxonomy/compositional_skills/linked/qna.yaml"]]
    targets.append(["taxonomy/compositional_skills/folder"])
    for paths in targets:
        run = run_cli(repo, *command, *paths)
        assert run.code != 0, run.output
        assert "leads outside" in _flat(run.output) and "Traceback" not in run.output
        assert SECRET not in run.output
    assert outside.read_bytes() == before
    assert (linked / "qna.yaml").is_symlink()
    assert files_containing(repo, SECRET) == []


def test_a_link_inside_the_repository_is_formatted_and_stays_a_link(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo()
    real = repo / "taxonomy/compositional_skills/real"
    real.mkdir()
    (real / "qna.yaml").write_text(
        (PROJECT_ROOT / SKILL).read_text(encoding="utf-8") + "   \n", encoding="utf-8"
    )
    alias = repo / "taxonomy/compositional_skills/alias"
    alias.mkdir()
    (alias / "qna.yaml").symlink_to("../real/qna.yaml")
    run = run_cli(repo, "fmt", "taxonomy/compositional_skills/alias/qna.yaml")
    assert run.code == 0, run.output
    assert (alias / "qna.yaml").is_symlink()
    assert not (real / "qna.yaml").read_text(encoding="utf-8").endswith("   \n")
