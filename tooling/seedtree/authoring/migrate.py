"""``seedtree migrate``: bring old ``qna.yaml`` leaves to the latest schema version.

Skills (v1, v2) differ from v3 only in their ``version``, so they are upgraded in place by
editing that one line (or inserting it), which keeps every comment and all formatting.
Knowledge v1/v2 leaves lack what v3 requires: an outline of the document, seed examples grouped
under a passage of it, and a pinned document. Those cannot be invented, so for knowledge the
command lists, with ``file:line``, exactly what the contributor must add; it changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seedtree.atomic import write_text
from seedtree.authoring.fmt import display_path, link_outside
from seedtree.errors import UsageError
from seedtree.findings import Finding
from seedtree.validate.schema import latest_version, load_schema
from seedtree.yamlpos import TooComplex, guard

_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")


@dataclass(frozen=True)
class Migration:
    """The outcome for one file: its new text (same as before when nothing changed) and the
    steps left to the contributor, each located at the line to change."""

    name: str
    kind: str
    version: int
    text: str
    todo: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class _Top:
    """The top-level mapping of a file: each key's node and value node."""

    keys: Mapping[str, yaml.Node]
    values: Mapping[str, yaml.Node]


def _compose(text: str) -> yaml.Node | None:
    guard(text)  # PyYAML's composer recurses on nesting: refuse what would crash it
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.compose(text, Loader=loader)


def _top(node: yaml.Node | None) -> _Top:
    if not isinstance(node, yaml.MappingNode):
        return _Top({}, {})
    keys = {str(k.value): k for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    values = {str(k.value): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    return _Top(keys, values)


def _version(top: _Top) -> int:
    node = top.values.get("version")
    if node is None:
        return 1
    try:
        return int(node.value)
    except (TypeError, ValueError):
        return 0


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _todo(name: str, line: int, rule: str, message: str) -> Finding:
    return Finding(name, line, 1, "error", rule, message)


def _set_version(text: str, top: _Top, to: int) -> str:
    """``text`` with its top-level ``version`` set to ``to``, nothing else touched."""
    node = top.values.get("version")
    if node is not None:
        start, end = node.start_mark.index, node.end_mark.index
        return f"{text[:start]}{to}{text[end:]}"
    first = min((k.start_mark.index for k in top.keys.values()), default=len(text))
    line_start = text.rfind("\n", 0, first) + 1
    return f"{text[:line_start]}version: {to}\n{text[line_start:]}"


def _is_knowledge(path: Path, top: _Top) -> bool:
    if "knowledge" in path.parts[:-1]:
        return True
    return "compositional_skills" not in path.parts and "document" in top.keys


def _seed_lines(top: _Top) -> list[int]:
    seeds = top.values.get("seed_examples")
    if not isinstance(seeds, yaml.SequenceNode):
        return []
    return [_line(item) for item in seeds.value]


def _document_steps(name: str, top: _Top) -> Iterator[Finding]:
    doc = top.values.get("document")
    if not isinstance(doc, yaml.MappingNode):
        line = _line(top.keys["document"]) if "document" in top.keys else 1
        yield _todo(
            name,
            line,
            "migrate-document",
            "add `document:` with `repo` (a git URL, or `.` for this repository), `commit` "
            "(the full 40-character SHA holding the documents; optional with `repo: .`) and "
            "`patterns` (paths or globs of the markdown documents)",
        )
        return
    fields = _top(doc)
    repo = fields.values.get("repo")
    if isinstance(repo, yaml.ScalarNode) and str(repo.value).strip() == ".":
        return
    commit = fields.values.get("commit")
    if isinstance(commit, yaml.ScalarNode) and _FULL_SHA.fullmatch(str(commit.value).strip()):
        return
    where = _line(commit) if commit is not None else _line(top.keys["document"])
    yield _todo(
        name,
        where,
        "migrate-pin-document",
        "pin the document: set `document.commit` to the full 40-character SHA of the commit "
        "in `document.repo` that holds the documents (short SHAs are ambiguous)",
    )


def _seed_steps(name: str, top: _Top) -> Iterator[Finding]:
    lines = _seed_lines(top)
    where = _line(top.keys["seed_examples"]) if "seed_examples" in top.keys else 1
    listed = ", ".join(str(n) for n in lines) or "none"
    yield _todo(
        name,
        where,
        "migrate-seed-examples",
        "restructure `seed_examples`: v3 needs at least 5 items, each a `context` (a passage "
        "copied from the document, at most 500 words) with 3 `questions_and_answers` "
        f"(`question`, `answer`) answered by that passage; this file has {len(lines)} flat "
        f"question/answer items (lines {listed}): group them in threes under the passage "
        "each one comes from",
    )


def _knowledge_steps(name: str, top: _Top, to: int) -> Iterator[Finding]:
    version_line = _line(top.keys["version"]) if "version" in top.keys else 1
    yield _todo(name, version_line, "migrate-version", f"set `version: {to}`")
    if "document_outline" not in top.keys:
        after = top.keys.get("domain") or top.keys.get("created_by")
        yield _todo(
            name,
            _line(after) + 1 if after is not None else 1,
            "migrate-outline",
            "add `document_outline:`, a one- or two-sentence summary of the document",
        )
    if "task_description" in top.keys:
        yield _todo(
            name,
            _line(top.keys["task_description"]),
            "migrate-task-description",
            f"remove `task_description` (knowledge v{to} has no such key; reuse its text in "
            "`document_outline` if it summarises the document)",
        )
    yield from _document_steps(name, top)
    yield from _seed_steps(name, top)


def migrate_text(text: str, path: Path, name: str, *, to: int) -> Migration:
    """Migrate one file's text to version ``to`` (skills) or list what it needs (knowledge)."""
    latest = latest_version("skills")
    if to != latest:
        raise UsageError(
            f"--to {to}: unsupported target version", hint=f"the latest version is {latest}"
        )
    try:
        top = _top(_compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        rule, why = _refusal(exc)
        step = _todo(name, line, rule, f"cannot migrate: {why}")
        return Migration(name, "unknown", 0, text, (step,))
    version = _version(top)
    knowledge = _is_knowledge(path, top)
    kind = "knowledge" if knowledge else "skill"
    if version >= to:
        return Migration(name, kind, version, text)
    if knowledge:
        return Migration(name, kind, version, text, tuple(_knowledge_steps(name, top, to)))
    steps = tuple(_skill_steps(name, top, to))
    return Migration(name, kind, version, _set_version(text, top, to), steps)


def _refusal(exc: yaml.YAMLError) -> tuple[str, str]:
    if isinstance(exc, TooComplex):
        return "yaml-too-complex", f"{exc.problem}"
    return "yaml-syntax", "fix the YAML syntax first"


def _skill_steps(name: str, top: _Top, to: int) -> Iterator[Finding]:
    """What the schema of version ``to`` requires beyond the version number: its required
    fields filled in, and enough seed examples."""
    schema = load_schema("skills", to)
    props: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", ()):
        yield from _required_step(name, top, key, props.get(key, {}))
    minimum = int(props.get("seed_examples", {}).get("minItems") or 0)
    have = len(_seed_lines(top))
    if have < minimum:
        where = _line(top.keys["seed_examples"]) if "seed_examples" in top.keys else 1
        yield _todo(
            name,
            where,
            "migrate-seed-count",
            f"add {minimum - have} more seed examples: version {to} needs at least {minimum} "
            f"(this file has {have}), each different from the others",
        )


def _required_step(name: str, top: _Top, key: str, spec: Mapping[str, Any]) -> Iterator[Finding]:
    what = str(spec.get("description") or "").rstrip(".")
    value = top.values.get(key)
    if key == "version":
        return
    if value is None:
        yield _todo(name, 1, "migrate-missing", f"add `{key}:` ({what})")
    elif (
        spec.get("minLength")
        and isinstance(value, yaml.ScalarNode)
        and not str(value.value).strip()
    ):
        yield _todo(name, _line(value), "migrate-empty", f"fill in `{key}` ({what})")


def migrate_file(
    path: Path, *, to: int, dry_run: bool = False, boundary: Path | None = None
) -> Migration:
    """Migrate ``path`` in place (unless ``dry_run``); a file leading outside ``boundary``
    through a symbolic link is refused before it is read."""
    refused = link_outside(path, boundary or path.parent)
    if refused:
        raise UsageError(f"{path}: not migrated: {refused}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    result = migrate_text(text, path, display_path(path), to=to)
    if result.text != text and not dry_run:
        write_text(path.resolve(), result.text)  # a link inside the boundary stays a link
    return result
