"""``seedtree fmt``: fixes layout defects, never values; leaves clean files byte for byte as they
are; with ``fmt.key_order`` makes the layout canonical (checked on the sample taxonomy and the
corpus)."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from ruamel.yaml import YAML

from helpers import SAMPLE_TAXONOMY, corpus_or_skip
from seedtree.authoring.fmt import TOP_KEYS, Formatted, format_text
from seedtree.cli import run
from seedtree.config import ValidateConfig
from seedtree.validate.api import validate_paths
from seedtree.validate.formatting import layout_findings

SAMPLE_LEAVES = sorted(SAMPLE_TAXONOMY.rglob("qna.yaml"))
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
KEY_LINE = re.compile(r"[ -]*[a-z_]+:")
HAIKU = SAMPLE_TAXONOMY / "compositional_skills/writing/poetry/haiku/qna.yaml"
# what `seedtree validate` reports about layout: what fmt may change
LAYOUT_RULES = {
    "yaml-syntax",
    "trailing-spaces",
    "new-line-at-end-of-file",
    "new-lines",
    "empty-lines",
    "indentation",
    "hyphens",
    "colons",
}


def _value(text: str) -> object:
    return yaml.load(text, Loader=LOADER)


def _typed(value: object) -> object:
    """A comparable form that tells 1, 1.0, True and "1" apart."""
    if isinstance(value, dict):
        return sorted((str(k), _typed(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _messy(text: str) -> str:
    """The same value laid out badly: 4-space indentation, keys reversed, trailing spaces after
    keys, no final newline."""
    rt = YAML()
    rt.indent(mapping=4, sequence=6, offset=4)
    rt.width = 4096
    data = rt.load(text)
    for key in list(data.keys())[::-1]:
        data.move_to_end(key)
    out = io.StringIO()
    rt.dump(data, out)
    lines = out.getvalue().splitlines()
    return "\n".join(line + "  " if KEY_LINE.fullmatch(line) else line for line in lines)


def _defects(text: str) -> tuple[str, str]:
    """The same value with what validation reports (trailing spaces after keys, Windows line
    endings, three blank lines before the seeds and at the end, no final newline), and the text
    with them fixed: the original with two blank lines, the most allowed, before the seeds."""
    lines = [line + "   " if KEY_LINE.fullmatch(line) else line for line in text.splitlines()]
    seeds = lines.index("seed_examples:   ")
    lines[seeds:seeds] = ["", "", ""]
    fixed = text.replace("\nseed_examples:\n", "\n\n\nseed_examples:\n")
    return "\r\n".join(lines) + "\r\n\r\n\r\n", fixed


def test_sample_taxonomy_is_already_formatted(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fmt", "--check", str(SAMPLE_TAXONOMY)]) == 0
    assert f"{len(SAMPLE_LEAVES)} files: 0 would reformat" in capsys.readouterr().out
    for leaf in SAMPLE_LEAVES:  # and it is in the canonical layout too
        text = leaf.read_text(encoding="utf-8")
        assert format_text(text, key_order=True) == Formatted(text), leaf


def _clean_leaves(paths: list[Path]) -> list[Path]:
    """The leaves on which `seedtree validate` reports nothing about layout."""
    found = validate_paths(paths, config=ValidateConfig()).findings
    faulty = {Path(f.file).resolve() for f in found if f.rule in LAYOUT_RULES}
    leaves = sorted(p.resolve() for path in paths for p in path.rglob("qna.yaml"))
    return [leaf for leaf in leaves if leaf not in faulty]


@pytest.mark.parametrize("tree", ["taxonomy", "corpus"])
def test_fmt_check_passes_on_every_leaf_that_validates_clean(
    tree: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if tree == "corpus":
        corpus = corpus_or_skip()
        paths = [corpus / "instructlab-taxonomy-2024-08", corpus / "instructlab-taxonomy-2025-04"]
    else:
        paths = [SAMPLE_TAXONOMY]
    clean = _clean_leaves(paths)
    assert len(clean) == len(SAMPLE_LEAVES) if tree == "taxonomy" else len(clean) > 140
    capsys.readouterr()
    assert run(["fmt", "--check", *map(str, clean)]) == 0
    assert f"{len(clean)} files: 0 would reformat, 0 with problems left" in capsys.readouterr().out


@pytest.mark.parametrize("leaf", SAMPLE_LEAVES, ids=lambda p: p.parent.name)
def test_defects_are_fixed_and_nothing_else(leaf: Path) -> None:
    original = leaf.read_text(encoding="utf-8")
    broken, fixed = _defects(original)
    rules = {f.rule for f in layout_findings(broken)}
    assert rules == {"trailing-spaces", "new-lines", "empty-lines"}
    assert _value(broken) == _value(original)
    assert format_text(broken) == Formatted(fixed)
    assert layout_findings(fixed) == []


def test_key_order_and_indentation_style_are_the_authors_by_default() -> None:
    text = HAIKU.read_text(encoding="utf-8")
    messy = _messy(text)  # keys reversed, 4-space indentation: consistent, so no defect
    fixed = _messy(text).replace("  \n", "\n") + "\n"
    assert {f.rule for f in layout_findings(messy)} == {
        "trailing-spaces",
        "new-line-at-end-of-file",
    }
    assert format_text(messy) == Formatted(fixed)
    assert layout_findings(fixed) == []


def test_inconsistent_indentation_is_fixed_keeping_the_key_order() -> None:
    text = (
        "version: 3\nseed_examples:\n  - question: q\n    answer: a\n"
        "created_by: me\ndocument:\n  patterns:\n  - a.md\n  repo: .\n"
    )
    assert [f.rule for f in layout_findings(text)] == ["indentation"]
    result = format_text(text)
    assert result.text == text.replace("\n  - a.md", "\n    - a.md")
    assert layout_findings(result.text) == []


def test_version_1_leaves_are_not_checked_for_layout_so_not_changed() -> None:
    text = "created_by: me   \nseed_examples:\n- question: q\n  answer: a"
    assert layout_findings(text) == []
    assert format_text(text) == Formatted(text)
    assert format_text(text, key_order=True).text == (
        "created_by: me\nseed_examples:\n  - question: q\n    answer: a\n"
    )


@pytest.mark.parametrize("leaf", SAMPLE_LEAVES, ids=lambda p: p.parent.name)
def test_messy_sample_leaf_is_restored_exactly_with_key_order(leaf: Path) -> None:
    original = leaf.read_text(encoding="utf-8")
    messy = _messy(original)
    assert messy != original and _value(messy) == _value(original)
    result = format_text(messy, key_order=True)
    assert result.notes == ()
    assert result.text == original


def _corpus_files() -> list[Path]:
    corpus = corpus_or_skip()
    files = sorted(corpus.glob("instructlab-taxonomy-2025-04/**/qna.yaml"))
    return files + sorted(corpus.glob("instructlab-taxonomy-2024-08/**/qna.yaml"))[::7]


def test_corpus_files_keep_every_value_and_reach_a_fixed_point(
    yamllint: Callable[[str], list[str]],
) -> None:
    files = _corpus_files()
    assert len(files) > 25
    for path in files:
        before = path.read_text(encoding="utf-8")
        result = format_text(before, str(path), key_order=True)
        assert result.notes == (), path
        after = _value(result.text)
        assert _typed(after) == _typed(_value(before)), path
        assert format_text(result.text, key_order=True).text == result.text, path
        assert all(line == line.rstrip(" \t") for line in result.text.splitlines()), path
        assert result.text.endswith("\n") and not result.text.endswith("\n\n"), path
        known = [k for k in after if k in TOP_KEYS]
        assert known == [k for k in TOP_KEYS if k in after], path
        # blank lines inside a quoted scalar are part of its value; everything else is fixed
        assert [p for p in yamllint(result.text) if "empty-lines" not in p] == [], path


def test_fmt_rewrites_in_place_and_check_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = tmp_path / "qna.yaml"
    broken, fixed = _defects(HAIKU.read_text(encoding="utf-8"))
    leaf.write_bytes(broken.encode("utf-8"))
    assert run(["fmt", "--check", str(leaf)]) == 1
    assert leaf.read_bytes() == broken.encode("utf-8")
    assert "would reformat" in capsys.readouterr().out
    assert run(["fmt", str(leaf)]) == 0
    assert leaf.read_bytes() == fixed.encode("utf-8")
    assert run(["fmt", "--check", str(leaf)]) == 0


def test_key_order_is_opted_in_by_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = tmp_path / "taxonomy" / "qna.yaml"
    leaf.parent.mkdir()
    reordered = "created_by: me\nversion: 3\n"
    leaf.write_text(reordered, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run(["fmt", "--check", str(leaf)]) == 0
    (tmp_path / "seedtree.yaml").write_text("fmt:\n  key_order: true\n", encoding="utf-8")
    assert run(["fmt", "--check", str(leaf)]) == 1
    assert run(["fmt", str(leaf)]) == 0
    assert leaf.read_text(encoding="utf-8") == "version: 3\ncreated_by: me\n"
    (tmp_path / "seedtree.yaml").write_text("fmt:\n  key_order: yes please\n", encoding="utf-8")
    assert run(["fmt", str(leaf)]) == 2
    assert "fmt.key_order" in capsys.readouterr().err


def test_tab_indentation_is_replaced(tmp_path: Path) -> None:
    text = "version: 3\ndocument:\n\trepo: .\n\tpatterns:\n\t\t- doc.md\n"
    result = format_text(text)
    assert result.notes == ()
    assert result.text == "version: 3\ndocument:\n  repo: .\n  patterns:\n    - doc.md\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 3\r\ncreated_by: me\r\n", "version: 3\ncreated_by: me\n"),
        ("", ""),
        ("# only a comment   \n\n", "# only a comment   \n\n"),  # version 1: not linted
        ("# a comment   \nversion: 3\n\n", "# a comment\nversion: 3\n"),
    ],
    ids=["crlf", "empty", "comment-only", "comment"],
)
def test_line_endings_and_empty_files(text: str, expected: str) -> None:
    assert format_text(text) == Formatted(expected)


def test_trailing_spaces_inside_a_block_scalar_are_kept_and_reported() -> None:
    text = "version: 3\ntask_description: |\n  keep these   \n  spaces\ncreated_by: me   \n"
    result = format_text(text, "leaf.yaml")
    assert _value(result.text) == _value(text)
    assert result.text.splitlines()[4] == "created_by: me"  # fixed (and left in its place)
    assert [(n.line, n.column, n.rule) for n in result.notes] == [(3, 13, "trailing-spaces")]
    ordered = format_text(text, "leaf.yaml", key_order=True)
    assert ordered.text.splitlines()[1] == "created_by: me"  # fixed and moved up
    assert [(n.line, n.column, n.rule) for n in ordered.notes] == [(4, 13, "trailing-spaces")]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("version: 3\nseed_examples:\n  - question: [unclosed\n", 4),
        ("version: 3\ncreated_by: a\ncreated_by: b\n", 3),
    ],
    ids=["syntax", "duplicate-key"],
)
def test_broken_files_are_reported_and_left_alone(
    tmp_path: Path, text: str, line: int, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = tmp_path / "qna.yaml"
    leaf.write_text(text, encoding="utf-8")
    assert run(["fmt", str(tmp_path)]) == 1
    assert leaf.read_text(encoding="utf-8") == text
    out = capsys.readouterr().out
    assert f"qna.yaml:{line}:" in out and "yaml-syntax" in out


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert run(["fmt", str(tmp_path / "nope")]) == 2


def test_default_path_is_the_taxonomy_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SAMPLE_TAXONOMY, tmp_path / "taxonomy")
    (tmp_path / "seedtree.yaml").write_text("taxonomy_dir: taxonomy\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run(["fmt", "--check"]) == 0
    assert f"{len(SAMPLE_LEAVES)} files" in capsys.readouterr().out


def test_comments_move_with_the_key_they_introduce() -> None:
    text = (
        "# header\n---\ncreated_by: me  # who\n# the seeds\nseed_examples:\n"
        "  - answer: a\n    question: q\n# the version\nversion: 3\n"
    )
    result = format_text(text, key_order=True)
    assert result.text == (
        "# header\n---\n# the version\nversion: 3\ncreated_by: me  # who\n# the seeds\n"
        "seed_examples:\n  - question: q\n    answer: a\n"
    )


def test_formatted_files_pass_yamllint_relaxed(yamllint: Callable[[str], list[str]]) -> None:
    for leaf in SAMPLE_LEAVES:
        assert yamllint(leaf.read_text(encoding="utf-8")) == [], leaf
        messy = _messy(leaf.read_text(encoding="utf-8"))
        assert yamllint(format_text(messy).text) == []
        assert yamllint(format_text(messy, key_order=True).text) == []
