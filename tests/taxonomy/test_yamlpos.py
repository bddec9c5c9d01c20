"""Parsing with positions: values as yaml.safe_load gives them, located paths, refused input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from helpers import CORPUS, SAMPLE_TAXONOMY
from seedtree import yamlpos
from seedtree.yamlpos import MAX_DEPTH, Pos, parse_file, parse_text, path_text


def _real_texts() -> list[str]:
    files = sorted(SAMPLE_TAXONOMY.rglob("qna.yaml"))
    if CORPUS.exists():
        files += sorted(CORPUS.rglob("qna.yaml"))[:60]
    return [p.read_text(encoding="utf-8") for p in files]


def test_values_equal_safe_load_on_real_leaves() -> None:
    texts = _real_texts()
    assert len(texts) >= 5
    for text in texts:
        parsed = parse_text(text)
        assert parsed.ok and parsed.findings == ()
        assert parsed.data == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [1, 2.5, true, null, ~, 0x1f, '3']\nc: {d: e}\n",
        "when: 2024-01-02\nbin: !!binary aGVsbG8=\n",
        "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",
        "- &a one\n- *a\n- !!str 3\n",
        "key: |\n  keep\n\n  lines\n",
    ],
)
def test_types_match_safe_load(text: str) -> None:
    assert parse_text(text).data == yaml.safe_load(text)


def test_positions_of_values_and_keys() -> None:
    text = "version: 3\nseed_examples:\n  - question: |\n      Why?\n    answer: Because.\n"
    parsed = parse_text(text)
    assert parsed.locate(("seed_examples", 0, "answer")) == Pos(5, 13)
    assert parsed.locate_key(("seed_examples", 0, "answer")) == Pos(5, 5)
    assert parsed.locate(("seed_examples", 0, "question")) == Pos(3, 15)
    # a path that does not exist falls back to its nearest located ancestor
    assert parsed.locate(("seed_examples", 7, "answer")) == Pos(3, 3)
    assert parsed.line_text(5) == "    answer: Because."
    assert path_text(("seed_examples", 3, "answer")) == "seed_examples/3/answer"


def test_duplicate_keys_are_reported_at_the_second_key() -> None:
    parsed = parse_text("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    found = sorted((f.line, f.column, f.rule) for f in parsed.findings)
    assert found == [(4, 3, "duplicate-key"), (5, 1, "duplicate-key")]
    assert parsed.ok and parsed.data == {"a": 3, "b": {"c": 2}}


@pytest.mark.parametrize(
    ("text", "rule", "pos"),
    [
        ("a: [1, 2\nb: 3\n", "yaml-syntax", None),
        ("a: *missing\n", "yaml-syntax", Pos(1, 4)),
        ("a: !!python/object:os.system ls\n", "yaml-syntax", Pos(1, 4)),
        ("a: 1\n---\nb: 2\n", "yaml-syntax", Pos(2, 1)),
        ("? [a, b]\n: c\n", "yaml-syntax", Pos(1, 3)),
        ("&r [*r]\n", "yaml-too-complex", Pos(1, 5)),
        ("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", "yaml-too-complex", None),
        ("- " * (MAX_DEPTH + 5) + "x\n", "yaml-too-complex", None),
    ],
)
def test_refused_input_is_located(text: str, rule: str, pos: Pos | None) -> None:
    parsed = parse_text(text, "f.yaml")
    assert not parsed.ok and parsed.data is None
    (finding,) = [f for f in parsed.findings if f.rule == rule]
    assert finding.file == "f.yaml" and finding.line >= 1 and finding.column >= 1
    if pos is not None:
        assert (finding.line, finding.column) == (pos.line, pos.column)


def test_alias_bomb_is_refused_quickly() -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    rows += [
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    parsed = parse_text("\n".join(rows) + "\n")
    assert [f.rule for f in parsed.findings] == ["yaml-too-complex"]
    assert "alias" in parsed.findings[0].message


def test_shared_aliases_within_budget_are_fine() -> None:
    parsed = parse_text("a: &a {k: v}\nb: [*a, *a, *a]\n")
    assert parsed.ok and parsed.data == {"a": {"k": "v"}, "b": [{"k": "v"}] * 3}


def test_bad_files(tmp_path: Path) -> None:
    folder = tmp_path / "qna.yaml"
    folder.mkdir()
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (10 * 1024 * 1024) + b"\n")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"a: 1\nb: \x00\xff\n")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: caf\u00e9\n".encode("latin-1"))
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it would block forever
    expected = {
        fifo: ("file-unreadable", 1, 1),
        folder: ("file-unreadable", 1, 1),
        big: ("file-too-large", 1, 1),
        binary: ("file-encoding", 2, 4),
        latin: ("file-encoding", 1, 7),
        tmp_path / "missing.yaml": ("file-unreadable", 1, 1),
    }
    for path, (rule, line, column) in expected.items():
        parsed = parse_file(path, "shown")
        assert not parsed.ok
        assert [(f.rule, f.line, f.column, f.file) for f in parsed.findings] == [
            (rule, line, column, "shown")
        ]


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "qna.yaml"
    path.write_text("a: 1\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(yamlpos, "open", denied, raising=False)  # what a chmod 000 file does
    (finding,) = parse_file(path, "shown").findings
    assert (finding.rule, finding.line, finding.column) == ("file-unreadable", 1, 1)
    assert "Permission denied" in finding.message
