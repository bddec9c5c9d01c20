"""The shipped JSON Schemas: valid draft 2020-12, editor-ready, and evaluated here exactly as
``jsonschema`` evaluates them (on real leaves and on hundreds of damaged ones)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml
from mutations import mutate

from helpers import CORPUS, PROJECT_ROOT, SAMPLE_TAXONOMY
from seedtree.validate import schema

SCHEMAS = sorted((PROJECT_ROOT / "tooling" / "seedtree" / "schemas").glob("*.json"))


def _keywords(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= _keywords(sub)
            elif key not in ("examples", "const"):
                found |= _keywords(value)
    return found


def test_schema_files() -> None:
    names = {p.name for p in SCHEMAS}
    assert names == {f"{k}_v{v}.json" for k in ("knowledge", "skills") for v in (1, 2, 3)}
    for path in SCHEMAS:
        document = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["$id"].endswith(path.name)
        assert _keywords(document) <= schema.KEYWORDS, path.name
    assert (PROJECT_ROOT / "schemas").resolve() == SCHEMAS[0].parent.resolve()


def test_versions() -> None:
    assert schema.latest_version("knowledge") == 3
    assert schema.latest_version("skills") == 3
    assert schema.deprecation("knowledge", 2) is not None
    assert schema.deprecation("knowledge", 3) is None
    assert schema.deprecation("skills", 1) is None


def test_sample_leaves_point_editors_at_the_schemas() -> None:
    for path in SAMPLE_TAXONOMY.rglob("qna.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert target.is_file(), path


def _documents() -> list[tuple[str, int, Any]]:
    files = sorted(SAMPLE_TAXONOMY.rglob("qna.yaml"))
    if CORPUS.exists():
        files += sorted(CORPUS.rglob("qna.yaml"))
    out = []
    for path in files:
        text = path.read_text()
        kind = "knowledge" if "knowledge" in path.parts else "skills"
        out.append((kind, hash(path.name) % 1000, text))
    return out


@cache
def _reference(kind: str, version: int) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema.load_schema(kind, version))


def _verdicts(kind: str, data: Any) -> list[tuple[int, bool, bool]]:
    rows = []
    for version in (1, 2, 3):
        document = schema.load_schema(kind, version)
        ours = not any(True for _ in schema.errors(document, data))
        theirs = _reference(kind, version).is_valid(data)
        rows.append((version, ours, theirs))
    return rows


def test_evaluator_agrees_with_jsonschema() -> None:
    documents = _documents()
    checked = 0
    for index, (kind, _, text) in enumerate(documents):
        for seed in range(4 if CORPUS.exists() else 60):
            raw = text.encode() if seed == 0 else mutate(text, seed * 1000 + index)
            try:
                data = yaml.load(raw.decode("utf-8"), Loader=yaml.CSafeLoader)
            except (UnicodeDecodeError, yaml.YAMLError, RecursionError):
                continue
            try:
                verdicts = _verdicts(kind, data)
            except RecursionError:  # deeper than the validator admits (yamlpos.MAX_DEPTH)
                continue
            for version, ours, theirs in verdicts:
                assert ours == theirs, (kind, version, seed, index)
                checked += 1
    assert checked > 300


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "text",
        {"version": True},
        {"version": 3.0, "created_by": "a", "task_description": "b", "seed_examples": []},
        {"seed_examples": [{"question": "q", "answer": "a"}] * 5},
        {"document": {"repo": ".", "patterns": ["a.md"]}},
        {"document": {"repo": "https://x", "patterns": ["a.md"]}},
        {"document": {"repo": ".", "commit": "", "patterns": []}},
    ],
)
def test_evaluator_agrees_on_edge_values(data: Any) -> None:
    for kind in ("knowledge", "skills"):
        for _, ours, theirs in _verdicts(kind, data):
            assert ours == theirs
