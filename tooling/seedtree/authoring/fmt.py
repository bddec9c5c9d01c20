"""``seedtree fmt``: fix what is mechanical in ``qna.yaml`` files without changing any value.

By default fmt fixes defects, not taste: a file on which ``seedtree validate`` reports no layout
finding is left byte for byte as it is, and otherwise only the lines at fault change where a
text fix suffices (line endings, trailing spaces, blank lines, the final newline, tab
indentation); indentation, hyphens and colons are fixed by re-emitting the YAML, keeping the
author's key order. A repository may opt in to one canonical layout (``fmt.key_order`` in
``seedtree.yaml``): keys in :data:`KEY_ORDER`, 2-space indentation, sequence items indented by 2
under their key, long plain or quoted scalars re-wrapped at :data:`WIDTH` columns. Comments and
block scalars (``|``, ``>``) are kept. Every result is parsed again and compared with the
original, value by value and type by type: a file that cannot be formatted without changing a
value is left as it is and reported.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seedtree.atomic import write_text
from seedtree.errors import UsageError
from seedtree.findings import Finding
from seedtree.taxonomy.leaves import qna_files_under
from seedtree.validate.formatting import layout_findings
from seedtree.yamlpos import guard

WIDTH = 100
# The documented key order. Keys not listed keep their relative order after the listed ones.
TOP_KEYS = (
    "version",
    "created_by",
    "domain",
    "task_description",
    "document_outline",
    "document",
    "seed_examples",
)
KEY_ORDER: Mapping[str, tuple[str, ...]] = {
    "": TOP_KEYS,
    "document": ("repo", "commit", "patterns"),
    "seed_examples": ("context", "question", "answer", "questions_and_answers"),
    "questions_and_answers": ("question", "answer"),
}
_LEADING_TAB = re.compile(r"^([ \t]*\t[ \t]*)", re.MULTILINE)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BLANK = 2


@dataclass(frozen=True)
class Formatted:
    """The formatted text of one file, and what could not be fixed without changing a value."""

    text: str
    notes: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class FileResult:
    path: Path
    changed: bool
    notes: tuple[Finding, ...]


def _yaml(width: int) -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = width
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _reorder(node: Any, order: tuple[str, ...]) -> None:
    """Move ``node``'s known keys into ``order``, unknown keys after them (in place)."""
    keys = list(node.keys())
    wanted = [k for k in order if k in node] + [k for k in keys if k not in order]
    if keys != wanted:
        for key in wanted:
            node.move_to_end(key)


def _apply_key_order(data: Any) -> None:
    if not isinstance(data, dict):
        return
    _reorder(data, KEY_ORDER[""])
    if isinstance(data.get("document"), dict):
        _reorder(data["document"], KEY_ORDER["document"])
    for seed in _dicts(data.get("seed_examples")):
        _reorder(seed, KEY_ORDER["seed_examples"])
        for qa in _dicts(seed.get("questions_and_answers")):
            _reorder(qa, KEY_ORDER["questions_and_answers"])


def _dicts(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types, recursively (so ``1``, ``1.0``, ``True`` and ``"1"`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _load_plain(text: str) -> Any:
    guard(text)  # PyYAML's composer recurses on nesting: refuse what would crash it
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def _top_key_lines(text: str) -> list[tuple[str, int]]:
    """Each top-level key with its 0-based line, in file order (empty if not a mapping)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    node = yaml.compose(text, Loader=loader)
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(str(k.value), k.start_mark.line) for k, _ in node.value]


def _is_own_comment(line: str) -> bool:
    """A blank line or a comment in column 0: it introduces the top-level key after it."""
    return not line.strip() or line.startswith("#")


def reorder_top_level(text: str) -> str:
    """The top-level keys of ``text`` in :data:`TOP_KEYS` order, moved as text together with the
    comment lines just above each, so that comments stay with the key they describe."""
    keys = _top_key_lines(text)
    order = [k for k in TOP_KEYS if any(k == name for name, _ in keys)]
    wanted = order + [name for name, _ in keys if name not in TOP_KEYS]
    names = [name for name, _ in keys]
    if names == wanted or len(set(names)) < len(names):  # duplicates: reported later
        return text
    lines = text.splitlines()
    starts = [line for _, line in keys]
    for i in range(1, len(starts)):
        while starts[i] - 1 > starts[i - 1] and _is_own_comment(lines[starts[i] - 1]):
            starts[i] -= 1
    bounds = [*starts, len(lines)]
    blocks = {name: lines[bounds[i] : bounds[i + 1]] for i, (name, _) in enumerate(keys)}
    body = [line for name in wanted for line in blocks[name]]
    return "\n".join(lines[: starts[0]] + body) + "\n"


def _dump(text: str, width: int, key_order: bool) -> str:
    rt = _yaml(width)
    data = rt.load(text)
    if key_order:
        _apply_key_order(data)
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _strip_lines(text: str) -> str:
    return "\n".join(line.rstrip(" \t") for line in text.split("\n")).rstrip("\n") + "\n"


def _note(name: str, line: int, column: int, rule: str, message: str) -> Finding:
    return Finding(name, line, column, "error", rule, message)


def _trailing_space_notes(text: str, name: str) -> tuple[Finding, ...]:
    return tuple(
        _note(
            name,
            number,
            len(line.rstrip(" \t")) + 1,
            "trailing-spaces",
            "trailing spaces inside a block scalar are part of its value: remove them by hand "
            "if they are not meant to be there",
        )
        for number, line in enumerate(text.split("\n"), start=1)
        if line != line.rstrip(" \t")
    )


def _split_prologue(text: str) -> tuple[str, str]:
    """Comments and directives up to an explicit ``---`` (which the emitter would drop), and
    the rest."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.rstrip() == "---" or line.startswith("--- "):
            return "".join(lines[: i + 1]), "".join(lines[i + 1 :])
        if line.strip() and not line.startswith(("#", "%")):
            break
    return "", text


def _candidates(text: str, key_order: bool) -> Iterator[str]:
    """Formatted versions of ``text``: canonical ones, most thorough first (``key_order``), or
    the text with its faulty lines fixed, then re-emitted as it stands."""
    if not key_order:
        yield _fix_lines(text, blocks_as_written=False)
        yield _fix_lines(text, blocks_as_written=True)
    prologue, body = _split_prologue(text)
    head = _strip_lines(prologue) if prologue else ""
    for width in (WIDTH, 1 << 16) if key_order else (1 << 16,):
        dumped = _dump(reorder_top_level(body) if key_order else body, width, key_order)
        yield head + _strip_lines(dumped)
        yield head + (dumped if dumped.endswith("\n") else dumped + "\n")


def _block_scalar_lines(text: str) -> set[int]:
    """0-based lines inside block scalars (``|``, ``>``): their spaces may be part of a value."""
    lines: set[int] = set()
    for event in yaml.parse(text, Loader=_LOADER):
        start, end = event.start_mark, event.end_mark
        if isinstance(event, yaml.ScalarEvent) and event.style in ("|", ">") and start and end:
            lines.update(range(start.line + 1, end.line + (end.column > 0)))
    return lines


def _fix_lines(text: str, blocks_as_written: bool) -> str:
    """Line endings, trailing spaces and runs of blank lines fixed, no blank lines at either end,
    one final newline: every other line as it was. Inside block scalars, lines with text keep
    their trailing spaces (part of the value), and so do blank lines if ``blocks_as_written``."""
    text = text.replace("\r\n", "\n")
    inside = _block_scalar_lines(text)
    out: list[str] = []
    blank = 0
    for number, line in enumerate(text.split("\n")):
        if number in inside and (blocks_as_written or line.strip()):
            out.append(line)
            blank = 0
            continue
        line = line.rstrip(" \t")
        blank = blank + 1 if not line else 0
        if line or (out and blank <= MAX_BLANK):
            out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _untab(text: str) -> str:
    """Tabs in indentation (which YAML forbids) become two spaces each."""
    return _LEADING_TAB.sub(lambda m: m.group(1).replace("\t", "  "), text)


def _parse_error(exc: Exception, name: str) -> Finding:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return _note(
        name,
        line,
        column,
        "yaml-syntax",
        f"cannot format: {problem}; fix the YAML first (`seedtree validate` shows the details)",
    )


def _original_value(text: str) -> tuple[str, Any]:
    """The text to format (tab indentation expanded if that is what breaks it) and its value."""
    try:
        return text, _load_plain(text)
    except yaml.YAMLError:
        untabbed = _untab(text)
        if untabbed == text or not _parses(untabbed):
            raise
        return untabbed, _load_plain(untabbed)


def _parses(text: str) -> bool:
    try:
        _load_plain(text)
    except yaml.YAMLError:
        return False
    return True


def format_text(text: str, name: str = "<text>", *, key_order: bool = False) -> Formatted:
    """Format one ``qna.yaml`` text; the result parses to exactly the same value. By default a
    text on which ``seedtree validate`` reports no layout finding comes back unchanged;
    ``key_order`` makes the layout canonical (see the module's description)."""
    from ruamel.yaml.error import YAMLError as RoundTripError

    if not key_order and not layout_findings(text, name):
        return Formatted(text)
    try:
        source, value = _original_value(text)
        if value is None:  # empty, or only comments: nothing for the emitter to keep
            return Formatted(_strip_lines(source) if source.strip() else source)
        best = _best(source, value, key_order)
    except (yaml.YAMLError, RoundTripError) as exc:  # ruamel also rejects duplicate keys
        return Formatted(text, (_parse_error(exc, name),))
    if best is None:
        message = "cannot format without changing a value; file left as it is"
        return Formatted(text, (_note(name, 1, 1, "fmt-unsafe", message),))
    return Formatted(best, _trailing_space_notes(best, name))


def _best(source: str, value: Any, key_order: bool) -> str | None:
    """The first candidate that keeps the value: canonical, or (by default) with the fewest
    layout findings left, the first fix on a tie."""
    best, left = None, 0
    for candidate in _candidates(source, key_order):
        if not _same(_load_plain(candidate), value):
            continue
        if key_order:
            return candidate
        count = len(layout_findings(candidate))
        if best is None or count < left:
            best, left = candidate, count
        if not count:
            break
    return best


def iter_yaml_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files given by name, and every ``qna.yaml`` under the folders given."""
    for path in paths:
        if path.is_dir():
            yield from qna_files_under(path, 0)
        elif path.is_file():
            yield path
        else:
            raise UsageError(f"{path}: no such file or folder")


def with_boundaries(paths: Iterable[Path], root: Path | None) -> Iterator[tuple[Path, Path]]:
    """Each file of :func:`iter_yaml_files` with the folder it may not lead out of: ``root``
    (the repository) for paths written inside it, else the folder given (a file's own)."""
    for given in paths:
        inside = root is not None and Path(os.path.abspath(given)).is_relative_to(root.resolve())
        boundary = root if root and inside else (given if given.is_dir() else given.parent)
        for path in iter_yaml_files([given]):
            yield path, boundary


def link_outside(path: Path, boundary: Path) -> str | None:
    """Why ``path`` may be neither read nor written: a symbolic link (of the file or of a
    folder above it) that leads outside ``boundary``, or none that resolves."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "a symbolic link that does not resolve"
    if target.is_relative_to(boundary.resolve()):
        return None
    return f"a symbolic link that leads outside {boundary}"


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def format_file(
    path: Path, *, check: bool, key_order: bool = False, boundary: Path | None = None
) -> FileResult:
    """Format ``path`` in place (unless ``check``); report whether it changed. A file that
    leads outside ``boundary`` through a symbolic link is neither read nor written."""
    refused = link_outside(path, boundary or path.parent)
    if refused:
        note = _note(display_path(path), 1, 1, "symlink-outside", f"not formatted: {refused}")
        return FileResult(path, False, (note,))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        note = _note(display_path(path), 1, 1, "unreadable", f"cannot read: {exc}")
        return FileResult(path, False, (note,))
    result = format_text(text, display_path(path), key_order=key_order)
    changed = result.text != text
    if changed and not check:
        write_text(path.resolve(), result.text)  # a link inside the boundary stays a link
    return FileResult(path, changed, result.notes)
