"""YAML with positions: parse a file once into plain values plus a map from paths to line:col.

The libyaml event stream (``yaml.parse`` with the C loader) is turned into plain Python values by
a small composer with an explicit stack, so that nothing recurses on the input: deep nesting,
recursive aliases and alias bombs are refused with a located finding instead of a crash, a hang
or unbounded memory. On the way it records where every value and every mapping key starts and
reports duplicate keys (PyYAML keeps the last one silently). Scalars are typed exactly as
``yaml.safe_load`` types them.

Size is bounded in bytes after expansion, not only in nodes: every value carries the UTF-8 bytes
of the scalar text it holds (keys included), and each use of an alias adds the bytes of what it
names. Aliases may add at most :data:`MAX_ALIAS_BYTES` to a file, so a leaf never expands past
its file size plus that, however its anchors are nested; the alias that would cross the cap is
the finding's position. Every reader of a leaf parses it here, so the same cap refuses it in
validation, taxonomy loading, generation and the retrain plan's hashing.

Paths are tuples of mapping keys and sequence indexes, e.g. ``("seed_examples", 3, "answer")``;
:func:`path_text` spells them ``seed_examples/3/answer``.
"""

from __future__ import annotations

import os
import stat
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from seedtree.findings import Finding, Severity

MAX_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 100_000
MAX_ALIAS_BYTES = 1_000_000
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()

PathKey = str | int
YamlPath = tuple[Any, ...]


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True)
class ParsedYaml:
    """One parsed file: its text, its value, where each value and key starts, and its problems.

    ``ok`` is false when the file could not be turned into a value at all (then ``data`` is
    ``None``); findings such as duplicate keys leave ``ok`` true.
    """

    file: str
    text: str
    data: Any
    ok: bool
    findings: tuple[Finding, ...] = ()
    value_pos: Mapping[YamlPath, Pos] = field(default_factory=dict)
    key_pos: Mapping[YamlPath, Pos] = field(default_factory=dict)

    def locate(self, path: Sequence[Any]) -> Pos:
        """Where the value at ``path`` starts, or its nearest located ancestor."""
        return _nearest(self.value_pos, tuple(path))

    def locate_key(self, path: Sequence[Any]) -> Pos:
        """Where the mapping key ending ``path`` is written (falls back to :meth:`locate`)."""
        found = self.key_pos.get(tuple(path))
        return found if found is not None else self.locate(path)

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def path_text(path: Sequence[Any]) -> str:
    """``("seed_examples", 3, "answer")`` → ``seed_examples/3/answer`` (``.`` for the root)."""
    return "/".join(str(p) for p in path) or "."


def _nearest(table: Mapping[YamlPath, Pos], path: YamlPath) -> Pos:
    for end in range(len(path), -1, -1):
        found = table.get(path[:end])
        if found is not None:
            return found
    return Pos(1, 1)


@lru_cache(maxsize=4096)
def _resolve_tag(value: str, implicit: tuple[bool, bool]) -> str:
    """The implicit tag of a scalar (cached: keys and short values repeat across files)."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
    return tag


class YamlRefused(Exception):
    """Input that cannot be composed safely; carries the position and rule of the finding."""

    def __init__(self, rule: str, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.pos = pos
        self.message = message


def _pos(mark: Any) -> Pos:
    return Pos(mark.line + 1, mark.column + 1) if mark is not None else Pos(1, 1)


_EXTRA_BREAKS = ("\x85", "\u2028", "\u2029")


def position_function(text: str) -> Callable[[Any], Pos]:
    """Mark → position counting only ``\n``, ``\r\n`` and ``\r`` as line breaks, as editors
    do (libyaml also breaks lines at NEL, LS and PS; then its marks' index is used instead)."""
    if not any(c in text for c in _EXTRA_BREAKS):
        return _pos
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n" or (char == "\r" and text[index + 1 : index + 2] != "\n"):
            starts.append(index + 1)

    def locate(mark: Any) -> Pos:
        if mark is None:
            return Pos(1, 1)
        line = bisect_right(starts, mark.index)
        return Pos(line, mark.index - starts[line - 1] + 1)

    return locate


@dataclass
class _Frame:
    """A collection being composed: its value, its path, and (mappings) the pending key."""

    value: Any
    path: YamlPath
    anchor: str | None
    is_map: bool
    pos: Pos
    size: int = 1
    weight: int = 0
    expect_key: bool = True
    key: Any = None
    key_mark: Pos | None = None
    first_key_line: dict[Any, int] = field(default_factory=dict)
    merges: list[Any] = field(default_factory=list)


class _Composer:
    """Turns libyaml events into plain values with positions (no recursion on the input)."""

    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.pos = position_function(text)
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int, int]] = {}
        self.open_anchors: set[str] = set()
        self.value_pos: dict[YamlPath, Pos] = {}
        self.key_pos: dict[YamlPath, Pos] = {}
        self.findings: list[Finding] = []
        self.alias_expansion = 0
        self.alias_bytes = 0
        self.documents = 0
        self.root: Any = None

    # -- where the next node goes -------------------------------------------------------------
    def _child_path(self) -> YamlPath:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.is_map:
            return (*top.path, top.key) if not top.expect_key else top.path
        return (*top.path, len(top.value))

    def _is_key_slot(self) -> bool:
        return bool(self.stack) and self.stack[-1].is_map and self.stack[-1].expect_key

    # -- events ---------------------------------------------------------------------------------
    def compose(self, text: str) -> None:
        """Take every event of ``text`` from libyaml (a plain loop: this is the hot path)."""
        loader = _LOADER(text)
        handlers = _HANDLERS
        try:
            for event in iter(loader.get_event, None):
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(self, event)
        finally:
            loader.dispose()

    def document_start(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise YamlRefused(
                "yaml-syntax",
                self.pos(event.start_mark),
                "a second YAML document ('---') in the file: a qna.yaml holds exactly one",
            )

    def scalar(self, event: Any) -> None:
        pos = self.pos(event.start_mark)
        value, tag = self._construct_scalar(event, pos)
        text: str = event.value
        weight = len(text) if text.isascii() else _utf8_len(text)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1, weight)
        if self._is_key_slot():
            self._set_key(value, pos, tag == _MERGE, weight)
            return
        self.value_pos[self._child_path()] = pos
        self._attach(value, 1, weight)

    def _construct_scalar(self, event: Any, pos: Pos) -> tuple[Any, str]:
        tag = event.tag
        if tag is None or tag == "!":
            tag = _resolve_tag(event.value, event.implicit)
        if tag == _STR:
            return event.value, tag
        if tag == _MERGE:
            return "<<", tag
        build = SafeConstructor.yaml_constructors.get(tag)
        if build is None:
            raise YamlRefused("yaml-syntax", pos, f"unknown tag {tag!r}: use a plain value")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return build(_CONSTRUCTOR, node), tag
        except (ConstructorError, ValueError, TypeError) as exc:
            raise YamlRefused("yaml-syntax", pos, f"cannot read {tag} value: {exc}") from None

    def collection_start(self, event: Any, is_map: bool) -> None:
        pos = self.pos(event.start_mark)
        if len(self.stack) >= MAX_DEPTH:
            raise YamlRefused(
                "yaml-too-complex", pos, f"nesting deeper than {MAX_DEPTH} levels: flatten it"
            )
        key_slot = self._is_key_slot()
        path = self._child_path() if not key_slot else (*self.stack[-1].path, "?")
        if not key_slot:
            self.value_pos[path] = pos
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame({} if is_map else [], path, event.anchor, is_map, pos))

    def collection_end(self, event: Any) -> None:
        frame = self.stack.pop()
        if frame.merges:
            _apply_merges(frame.value, frame.merges)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.value, frame.size, frame.weight)
        if self.stack and self.stack[-1].is_map and self.stack[-1].expect_key:
            raise YamlRefused(
                "yaml-syntax", frame.pos, "a mapping key must be a plain value, not a collection"
            )
        self._attach(frame.value, frame.size, frame.weight)

    def alias(self, event: Any) -> None:
        pos = self.pos(event.start_mark)
        name = event.anchor
        if name in self.open_anchors:
            raise YamlRefused("yaml-too-complex", pos, f"alias *{name} refers to itself")
        if name not in self.anchors:
            raise YamlRefused("yaml-syntax", pos, f"alias *{name} has no anchor &{name} before it")
        value, size, weight = self.anchors[name]
        self._count_alias(name, pos, size, weight)
        if self._is_key_slot():
            self._set_key(value, pos, False, weight)
            return
        self.value_pos[self._child_path()] = pos
        self._attach(value, size, weight)

    def _count_alias(self, name: str, pos: Pos, size: int, weight: int) -> None:
        """Add one use of ``*name`` to the expansion, refusing it where it crosses a cap."""
        self.alias_expansion += size
        if self.alias_expansion > MAX_ALIAS_EXPANSION:
            raise YamlRefused(
                "yaml-too-complex",
                pos,
                f"aliases expand to more than {MAX_ALIAS_EXPANSION} values (an alias bomb?): "
                "write the values out",
            )
        self.alias_bytes += weight
        if self.alias_bytes > MAX_ALIAS_BYTES:
            raise YamlRefused(
                "yaml-too-complex",
                pos,
                f"aliases repeat more than {MAX_ALIAS_BYTES:,} bytes of text (*{name} repeats "
                f"{weight:,} more here; an alias bomb?): write the text out once",
            )

    # -- building -------------------------------------------------------------------------------
    def _set_key(self, key: Any, pos: Pos, is_merge: bool, weight: int) -> None:
        top = self.stack[-1]
        top.expect_key = False
        top.weight += weight
        top.key, top.key_mark = (_MergeKey if is_merge else key), pos
        if is_merge:
            return
        try:
            first = top.first_key_line.get(key)
        except TypeError:
            raise YamlRefused("yaml-syntax", pos, "a mapping key must be a plain value") from None
        if first is not None:
            self.findings.append(
                Finding(
                    self.file,
                    pos.line,
                    pos.column,
                    "error",
                    "duplicate-key",
                    f"duplicate key '{key}' (first at line {first}): YAML keeps only the last "
                    "one; merge the two entries",
                )
            )
        else:
            top.first_key_line[key] = pos.line
        self.key_pos[(*top.path, key)] = pos

    def _attach(self, value: Any, size: int, weight: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        top.weight += weight
        if not top.is_map:
            top.value.append(value)
            return
        if top.key is _MergeKey:
            top.merges.append(value)
        else:
            top.value[top.key] = value
        top.expect_key = True


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


class _MergeKey:
    """Marks a pending ``<<`` merge key."""


def _apply_merges(target: dict[Any, Any], merges: list[Any]) -> None:
    for merge in merges:
        sources = merge if isinstance(merge, list) else [merge]
        for source in sources:
            if isinstance(source, dict):
                for key, value in source.items():
                    target.setdefault(key, value)


_HANDLERS: dict[type, Callable[[_Composer, Any], None]] = {
    yaml.DocumentStartEvent: _Composer.document_start,
    yaml.ScalarEvent: _Composer.scalar,
    yaml.AliasEvent: _Composer.alias,
    yaml.MappingStartEvent: lambda c, e: c.collection_start(e, True),
    yaml.SequenceStartEvent: lambda c, e: c.collection_start(e, False),
    yaml.MappingEndEvent: _Composer.collection_end,
    yaml.SequenceEndEvent: _Composer.collection_end,
}


def _finding(file: str, pos: Pos, rule: str, message: str, severity: Severity = "error") -> Finding:
    return Finding(file, pos.line, pos.column, severity, rule, message)


def parse_text(text: str, file: str = "<text>") -> ParsedYaml:
    """Parse ``text``; never raises for bad input (problems are findings)."""
    composer = _Composer(file, text)
    try:
        composer.compose(text)
    except YamlRefused as refused:
        finding = _finding(file, refused.pos, refused.rule, refused.message)
        return ParsedYaml(file, text, None, False, (*composer.findings, finding))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"{exc.problem or 'invalid YAML'}" + (f" ({exc.context})" if exc.context else "")
        where = _clamp(composer.pos(mark), text)
        finding = _finding(file, where, "yaml-syntax", f"invalid YAML: {message}")
        return ParsedYaml(file, text, None, False, (*composer.findings, finding))
    except yaml.YAMLError as exc:
        finding = _finding(file, Pos(1, 1), "yaml-syntax", f"invalid YAML: {exc}")
        return ParsedYaml(file, text, None, False, (*composer.findings, finding))
    return ParsedYaml(
        file,
        text,
        composer.root,
        True,
        tuple(composer.findings),
        composer.value_pos,
        composer.key_pos,
    )


def _clamp(pos: Pos, text: str) -> Pos:
    """``pos`` inside the text (libyaml reports the end of the stream one line further)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if pos.line <= len(lines):
        return pos
    return Pos(len(lines), len(lines[-1]) + 1)


def _line_col(raw: bytes, offset: int) -> Pos:
    head = raw[:offset]
    line = head.count(b"\n") + 1
    column = len(head) - (head.rfind(b"\n") + 1) + 1
    return Pos(line, column)


def decode(raw: bytes, file: str) -> str | Finding:
    """UTF-8 text of ``raw``, or a located finding when it is binary or not UTF-8."""
    nul = raw.find(b"\0")
    if nul >= 0:
        return _finding(
            file,
            _line_col(raw, nul),
            "file-encoding",
            "binary content (a NUL byte): a qna.yaml must be UTF-8 text",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _finding(
            file,
            _line_col(raw, exc.start),
            "file-encoding",
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}): save the file as UTF-8",
        )


def read_file(path: Path | str, file: str, max_bytes: int = MAX_BYTES) -> str | Finding:
    """The text of ``path``, or a finding at 1:1 when it cannot be read as a small text file."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return _finding(file, Pos(1, 1), "file-unreadable", "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            return _finding(file, Pos(1, 1), "file-unreadable", "is not a regular file")
        if info.st_size > max_bytes:
            return _finding(
                file,
                Pos(1, 1),
                "file-too-large",
                f"file is {info.st_size} bytes, more than the limit of {max_bytes}: split the leaf",
            )
        with open(path, "rb") as handle:  # sized to the file: a limit-sized buffer is 2x slower
            raw = handle.read(info.st_size + 1)
            if len(raw) > info.st_size:  # it grew since: read on, up to the limit
                raw += handle.read(max_bytes + 1 - len(raw))
    except OSError as exc:
        return _finding(file, Pos(1, 1), "file-unreadable", f"cannot read: {exc.strerror or exc}")
    return decode(raw, file)


def parse_file(path: Path, file: str | None = None, max_bytes: int = MAX_BYTES) -> ParsedYaml:
    """Read and parse ``path``; ``file`` is the name findings carry (default: ``str(path)``)."""
    shown = file if file is not None else str(path)
    text = read_file(path, shown, max_bytes)
    if isinstance(text, Finding):
        return ParsedYaml(shown, "", None, False, (text,))
    return parse_text(text, shown)


class TooComplex(yaml.MarkedYAMLError):
    """Raised by :func:`guard`: input that PyYAML's recursive composer must not be given."""


def _too_complex(pos: Pos, message: str, file: str) -> TooComplex:
    mark = yaml.Mark(file, 0, pos.line - 1, pos.column - 1, None, 0)
    return TooComplex(problem=message, problem_mark=mark)


def _nesting_problem(text: str) -> Pos | None:
    """Where collections first nest deeper than :data:`MAX_DEPTH` (a flat event scan)."""
    loader = _LOADER(text)
    depth = 0
    try:
        for event in iter(loader.get_event, None):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return _pos(event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the caller's own parser reports the syntax error
    finally:
        loader.dispose()
    return None


def guard(text: str, file: str = "<text>") -> None:
    """Raise :class:`TooComplex` (a located ``yaml.MarkedYAMLError``) when ``text`` nests deeper
    than :data:`MAX_DEPTH`, has a recursive alias or expands aliases past the cap: call it before
    handing untrusted text to ``yaml.load``, ``yaml.compose`` or ruamel, which recurse on nesting
    (200,000 nested ``[`` crash the process)."""
    where = _nesting_problem(text)
    if where is not None:
        raise _too_complex(where, f"nesting deeper than {MAX_DEPTH} levels: flatten it", file)
    for finding in parse_text(text, file).findings:
        if finding.rule == "yaml-too-complex":
            raise _too_complex(Pos(finding.line, finding.column), finding.message, file)
