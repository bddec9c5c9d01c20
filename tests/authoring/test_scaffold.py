"""``seedtree new``: a leaf generated from the latest schema, failing only on its placeholders."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_TAXONOMY
from seedtree.authoring.fmt import format_text
from seedtree.authoring.scaffold import (
    ATTRIBUTION_FIELDS,
    LeafType,
    create_leaf,
    latest_schema,
    schema_family,
)
from seedtree.cli import run
from seedtree.config import ValidateConfig
from seedtree.validate.api import validate_paths
from seedtree.validate.schema import load_schema

BICYCLE_DOC = SAMPLE_TAXONOMY / "knowledge/history/technology/bicycle/bicycle_history.md"
PLACES: dict[str, str] = {
    "knowledge": "knowledge/science/geology/volcanoes",
    "skill": "compositional_skills/writing/poetry/limerick",
    "grounded-skill": "compositional_skills/grounded/extract_dates",
}
_ADJECTIVES = [
    "amber",
    "bright",
    "calm",
    "deep",
    "early",
    "faint",
    "grand",
    "hidden",
    "icy",
    "jagged",
]
_NOUNS = [
    "basalt",
    "cedar",
    "dune",
    "fjord",
    "glacier",
    "harbor",
    "kelp",
    "lagoon",
    "meadow",
    "reef",
]
WORDS = [f"{a} {n}" for a in _ADJECTIVES for n in _NOUNS]


@pytest.fixture
def repo(make_repo: Callable[[str], Path]) -> Path:
    return make_repo("scaffold")


def _new(repo: Path, leaf_type: LeafType, **kw: Any) -> Any:
    return create_leaf(
        leaf_type,
        Path(PLACES[leaf_type]),
        repo_root=repo,
        taxonomy_root=repo / "taxonomy",
        limits=ValidateConfig(),
        **kw,
    )


def _findings(paths: list[Path]) -> list[Any]:
    return list(validate_paths(paths, config=ValidateConfig()).findings)


def _errors(paths: list[Path]) -> list[Any]:
    return [f for f in _findings(paths) if f.severity == "error"]


def _fill(text: str, holes: frozenset[int], pattern: str) -> str:
    """Write a distinct value into every placeholder line (and only there)."""
    words = iter(WORDS)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if number not in holes:
            out.append(line)
        elif line.endswith('- ""'):
            out.append(line.replace('""', pattern))
        elif line.endswith('""'):
            out.append(line.replace('""', repr(next(words))))
        else:  # an empty `|` block: text goes on the next line, two spaces deeper
            key_col = len(line) - len(line.lstrip(" -"))
            out += [line, f"{' ' * (key_col + 2)}Something about {next(words)}?"]
    return "\n".join(out) + "\n"


def _fill_attribution(path: Path) -> None:
    values = {"License of the work": "Apache-2.0"}
    path.write_text(
        "".join(f"{f}: {values.get(f, 'a value for ' + f.lower())}\n" for f in ATTRIBUTION_FIELDS),
        encoding="utf-8",
    )


@pytest.mark.parametrize("leaf_type", list(PLACES))
def test_fresh_leaf_fails_only_at_placeholders(repo: Path, leaf_type: LeafType) -> None:
    made = _new(repo, leaf_type)
    qna = made.leaf_dir / "qna.yaml"
    findings = _findings([made.leaf_dir])
    assert any(f.severity == "error" for f in findings)
    for finding in findings:
        if finding.file.endswith("qna.yaml"):
            assert finding.line in made.placeholder_lines, (finding, qna.read_text())
        else:
            assert finding.file.endswith("attribution.txt"), finding
    # Filling exactly the placeholder lines makes the leaf valid.
    doc = made.leaf_dir / "notes.md"
    doc.write_text("# Notes\n\nVolcanoes are openings in a planet's crust.\n", encoding="utf-8")
    pattern = doc.relative_to(repo).as_posix()
    qna.write_text(_fill(qna.read_text(encoding="utf-8"), made.placeholder_lines, pattern))
    _fill_attribution(made.leaf_dir / "attribution.txt")
    assert _errors([made.leaf_dir]) == [], qna.read_text()


def _required(node: dict[str, Any], family: str, version: int) -> Iterator[str]:
    for name in node.get("required", ()):
        yield name
        sub = node.get("properties", {}).get(name, {})
        items = sub.get("items", {})
        yield from (f"{name}.{n}" for n in _required(sub, family, version))
        yield from (f"{name}[].{n}" for n in _required(items, family, version))


def _keys(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield f"{prefix}{key}"
            yield from _keys(sub, f"{prefix}{key}.")
    elif isinstance(value, list) and value:
        yield from _keys(value[0], prefix[:-1] + "[].")


@pytest.mark.parametrize("leaf_type", list(PLACES))
def test_template_follows_the_latest_schema(
    repo: Path, leaf_type: LeafType, yamllint: Callable[[str], list[str]]
) -> None:
    family = schema_family(leaf_type)
    version, _ = latest_schema(family)
    schema = load_schema(family, version)
    made = _new(repo, leaf_type)
    text = (made.leaf_dir / "qna.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["version"] == version
    assert set(_required(schema, family, version)) <= set(_keys(data))
    seeds = data["seed_examples"]
    assert len(seeds) == schema["properties"]["seed_examples"]["minItems"]
    assert all(("context" in s) == (leaf_type != "skill") for s in seeds)
    assert format_text(text).text == text  # written the way `seedtree fmt` keeps it
    assert yamllint(text) == []
    target = made.leaf_dir / text.splitlines()[0].split("$schema=", 1)[1]
    assert target.name == f"{family}_v{version}.json" and target.is_file()
    limits = ValidateConfig()
    prose = " ".join(line.strip(" #") for line in text.splitlines())  # comments, unwrapped
    if leaf_type != "skill":
        assert f"At most {limits.max_context_words} words" in prose
    assert f"at most {limits.max_qa_words} words" in prose


def test_from_document_references_and_quotes_it(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "bicycles.md"
    source.write_text(BICYCLE_DOC.read_text(encoding="utf-8"), encoding="utf-8")
    made = _new(repo, "knowledge", from_document=source)
    data = yaml.safe_load((made.leaf_dir / "qna.yaml").read_text(encoding="utf-8"))
    copy = made.leaf_dir / "bicycles.md"
    assert copy.read_bytes() == source.read_bytes()
    assert data["document"] == {"repo": ".", "patterns": [copy.relative_to(repo).as_posix()]}
    contexts = [s["context"].strip() for s in data["seed_examples"]]
    paragraphs = [p.replace("\n", " ") for p in re.split(r"\n\s*\n", source.read_text())]
    assert len(set(contexts)) == 5
    assert all(c.replace("\n", " ") in paragraphs for c in contexts)


def test_modeline_uses_the_repository_schemas_folder(repo: Path) -> None:
    (repo / "schemas").symlink_to(latest_schema("skills")[1].parent, target_is_directory=True)
    made = _new(repo, "skill")
    first = (made.leaf_dir / "qna.yaml").read_text(encoding="utf-8").splitlines()[0]
    version = latest_schema("skills")[0]
    assert first == f"# yaml-language-server: $schema=../../../../../schemas/skills_v{version}.json"


def test_cli_new_reports_files_and_next_step(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo / "taxonomy" / "knowledge")  # PATH is taken from the taxonomy root
    assert run(["new", "skill", "compositional_skills/writing/poetry/limerick"]) == 0
    out = capsys.readouterr().out
    leaf = repo / "taxonomy/compositional_skills/writing/poetry/limerick"
    assert (leaf / "qna.yaml").is_file() and (leaf / "attribution.txt").is_file()
    assert "created" in out and "seedtree validate" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "knowledge", "compositional_skills/writing/x"], "under knowledge/"),
        (["new", "skill", "knowledge/x/y"], "under compositional_skills/"),
        (["new", "skill", "compositional_skills/writing/poetry/haiku"], "already exists"),
        (["new", "skill", "compositional_skills/Writing/limerick"], "use 'writing'"),
        (["new", "skill", "compositional_skills/writing/poetry/haiku/short"], "inside this leaf"),
    ],
)
def test_new_refuses_bad_places(
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(repo)
    before = sorted(p for p in (repo / "taxonomy").rglob("*"))
    assert run(args) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert sorted(p for p in (repo / "taxonomy").rglob("*")) == before


def test_from_document_is_refused_for_freeform_skills(repo: Path, tmp_path: Path) -> None:
    doc = tmp_path / "d.md"
    doc.write_text("text\n", encoding="utf-8")
    monkey_args = ["new", "skill", "compositional_skills/a/b", "-C", str(repo)]
    assert run([*monkey_args, "--from-document", str(doc)]) == 2
    assert not (repo / "taxonomy/compositional_skills/a/b/qna.yaml").exists()
