"""Formatting rules equivalent to yamllint's ``relaxed`` preset, as InstructLab applies it.

InstructLab runs ``yamllint -d '{extends: relaxed, rules: {line-length: disable}}'`` on files of
version 2 and later: trailing spaces and a missing final newline are errors there, layout
problems (indentation, blank lines, spaces around hyphens and colons) warnings. Checked here
in-process, with the same rule names and severities; line length is not checked. Windows line
endings are only a warning: the reference reads files with universal newlines and never sees
them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seedtree.config import ValidateConfig
from seedtree.findings import Finding
from seedtree.validate.context import FileCheck, own_version, version_number
from seedtree.yamlpos import Pos, parse_text

FIRST_LINTED_VERSION = 2
MAX_BLANK = 2
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def applies(check: FileCheck) -> bool:
    return check.version >= FIRST_LINTED_VERSION


def layout_findings(text: str, name: str = "<text>") -> list[Finding]:
    """What ``seedtree validate`` reports about the layout of ``text`` at the file's own version:
    YAML problems (syntax, duplicate keys) and the formatting rules, nothing about content."""
    parsed = parse_text(text, name)
    if not parsed.ok:
        return list(parsed.findings)
    own = own_version(parsed.data)
    version = version_number(own) or 1
    config = ValidateConfig()
    check = FileCheck(
        path=Path(name),
        shown=name,
        root=None,
        rel=None,
        parsed=parsed,
        kind="skills",
        own_version=own,
        version=version,
        held_to_latest=False,
        config=config,
    )
    return [*parsed.findings, *lines_rules(check), *token_rules(check)]


def lines_rules(check: FileCheck) -> Iterator[Finding]:
    """trailing-spaces, new-line-at-end-of-file, new-lines, empty-lines."""
    if not applies(check):
        return
    raw = check.parsed.text
    if "\r\n" in raw:
        first = raw.count("\n", 0, raw.index("\r\n")) + 1
        yield check.at(Pos(first, 1), "new-lines", "Windows (CRLF) line endings: use '\\n'")
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        stripped = line.rstrip(" \t")
        if stripped != line:
            yield check.at(
                Pos(number, len(stripped) + 1), "trailing-spaces", "trailing spaces: remove them"
            )
    if text and not text.endswith("\n"):
        yield check.at(
            Pos(len(lines), len(lines[-1]) + 1),
            "new-line-at-end-of-file",
            "no newline at the end of the file: add one",
        )
    yield from _empty_lines(check, lines)


def _empty_lines(check: FileCheck, lines: list[str]) -> Iterator[Finding]:
    # ``lines`` ends with "" when the text ends with a newline: that is not a blank line.
    body = lines[:-1] if lines and lines[-1] == "" else lines
    run_start = None
    for index, line in enumerate([*body, "x"]):
        if line == "":
            run_start = index if run_start is None else run_start
            continue
        if run_start is None:
            continue
        count, last = index - run_start, index  # ``last`` is the 1-based line of the run's end
        limit = 0 if run_start == 0 or index == len(body) else MAX_BLANK
        if count > limit and not (len(body) == 1 and index == len(body)):
            yield check.at(
                Pos(last, 1),
                "empty-lines",
                f"too many blank lines ({count} > {limit}): remove them",
            )
        run_start = None


@dataclass
class _Layout:
    """Indentation state: the open block collections and what the file has chosen so far."""

    stack: list[tuple[str, int]] = field(default_factory=list)
    unit: int | None = None
    indent_sequences: bool | None = None
    flow: int = 0


def token_rules(check: FileCheck) -> Iterator[Finding]:
    """hyphens, colons and indentation, from the token stream."""
    if not applies(check) or not check.parsed.ok:
        return
    try:
        tokens = list(yaml.scan(check.parsed.text, Loader=_LOADER))
    except yaml.YAMLError:
        return
    layout = _Layout()
    for index, token in enumerate(tokens):
        prev = tokens[index - 1] if index else None
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        yield from _spacing(check, token, prev, nxt)
        yield from _indentation(check, layout, token, prev)


def _same_line_gap(left: Any, right: Any) -> int | None:
    if left is None or right is None or left.end_mark.line != right.start_mark.line:
        return None
    return int(right.start_mark.column - left.end_mark.column)


def _spacing(check: FileCheck, token: Any, prev: Any, nxt: Any) -> Iterator[Finding]:
    if isinstance(token, yaml.BlockEntryToken):
        gap = _same_line_gap(token, nxt)
        if gap is not None and gap > 1:
            yield check.at(_start(nxt), "hyphens", "too many spaces after hyphen: use one")
    elif isinstance(token, yaml.ValueToken):
        before = _same_line_gap(prev, token)
        if before and isinstance(prev, yaml.ScalarToken) and not isinstance(nxt, yaml.KeyToken):
            yield check.at(
                Pos(token.start_mark.line + 1, token.start_mark.column),
                "colons",
                "too many spaces before colon: write 'key: value'",
            )
        after = _same_line_gap(token, nxt)
        if after is not None and after > 1 and not isinstance(nxt, _ENDS):
            yield check.at(_start(nxt), "colons", "too many spaces after colon: use one")


_ENDS = (yaml.BlockEndToken, yaml.StreamEndToken)


def _start(token: Any) -> Pos:
    return Pos(token.start_mark.line + 1, token.start_mark.column + 1)


def _indentation(check: FileCheck, layout: _Layout, token: Any, prev: Any) -> Iterator[Finding]:
    if isinstance(token, yaml.FlowSequenceStartToken | yaml.FlowMappingStartToken):
        layout.flow += 1
    elif isinstance(token, yaml.FlowSequenceEndToken | yaml.FlowMappingEndToken):
        layout.flow -= 1
    elif isinstance(token, yaml.BlockEndToken):
        if layout.stack:
            layout.stack.pop()
    elif layout.flow == 0 and isinstance(token, yaml.BlockMappingStartToken):
        yield from _nested(check, layout, "map", token, prev)
    elif layout.flow == 0 and isinstance(token, yaml.BlockSequenceStartToken):
        yield from _nested(check, layout, "seq", token, prev)
    elif layout.flow == 0 and _starts_indentless_sequence(layout, token, prev):
        yield from _sequence_style(check, layout, False, token)


def _starts_indentless_sequence(layout: _Layout, token: Any, prev: Any) -> bool:
    return (
        isinstance(token, yaml.BlockEntryToken)
        and isinstance(prev, yaml.ValueToken)
        and bool(layout.stack)
        and layout.stack[-1][0] == "map"
    )


def _nested(
    check: FileCheck, layout: _Layout, kind: str, token: Any, prev: Any
) -> Iterator[Finding]:
    column = int(token.start_mark.column)
    parent = layout.stack[-1] if layout.stack else None
    layout.stack.append((kind, column))
    if parent is None or parent[0] != "map" or isinstance(prev, yaml.BlockEntryToken):
        return  # the content of a list item sits where its hyphen puts it
    indent = column - parent[1]
    if kind == "seq":
        yield from _sequence_style(check, layout, True, token)
        if indent <= 0:
            return
    if layout.unit is None:
        layout.unit = indent
    elif indent != layout.unit:
        yield check.at(
            _start(token),
            "indentation",
            f"wrong indentation: expected {parent[1] + layout.unit} but found {column}",
        )


def _sequence_style(
    check: FileCheck, layout: _Layout, indented: bool, token: Any
) -> Iterator[Finding]:
    if layout.indent_sequences is None:
        layout.indent_sequences = indented
    elif layout.indent_sequences != indented:
        how = "indented" if layout.indent_sequences else "not indented"
        yield check.at(
            _start(token),
            "indentation",
            f"wrong indentation: the file's other lists are {how} under their key",
        )
