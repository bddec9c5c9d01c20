"""``seedtree new``: create a leaf folder with a commented ``qna.yaml`` and ``attribution.txt``.

The ``qna.yaml`` is generated from the latest JSON Schema shipped in ``seedtree/schemas/`` (its
fields, which are required, how many items each list needs, its descriptions), written in
the order ``seedtree fmt`` keeps (:data:`seedtree.authoring.fmt.KEY_ORDER`), so the template cannot
drift from the schema. Every value the contributor must supply is an empty placeholder (``""`` or an
empty ``|`` block), and a fresh leaf fails validation only on those placeholders.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seedtree.atomic import write_text
from seedtree.authoring.fmt import KEY_ORDER
from seedtree.config import ValidateConfig
from seedtree.errors import UsageError
from seedtree.taxonomy.leaves import ATTRIBUTION, QNA, TOPS, find_root
from seedtree.validate.layout import FOLDER_NAME
from seedtree.validate.schema import latest_version, load_schema, schema_name

LeafType = Literal["knowledge", "skill", "grounded-skill"]
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
ATTRIBUTION_FIELDS = (
    "Title of work",
    "Link to work",
    "Revision",
    "License of the work",
    "Creator names",
)
# Fields whose text is usually long: written as `|` blocks, the others as quoted scalars.
_BLOCK_FIELDS = frozenset({"task_description", "document_outline", "context", "question", "answer"})
_WRAP = 96
# How this project keeps documents (not a schema rule, so not in the schema).
_CONVENTIONS = {"patterns": "Keep markdown documents in this leaf's folder."}
_HOW_TO = (
    ' Replace every empty value ("") and write text under each empty `|`, indented two spaces'
    " more than its key. `seedtree validate` lists what is still missing; `seedtree fmt` fixes"
    " the layout."
)
_INTRO = {
    "knowledge": "Knowledge leaf: facts the model should learn from the document(s) below.",
    "skill": "Freeform skill: a task the model should learn to do from questions and answers.",
    "grounded-skill": "Grounded skill: a task done on a context, the text a question is about.",
}


@dataclass(frozen=True)
class Scaffold:
    """What ``seedtree new`` wrote: the files, and the 1-based lines of ``qna.yaml`` holding
    a placeholder (the only lines a fresh leaf's validation findings point at)."""

    leaf_dir: Path
    files: tuple[Path, ...]
    placeholder_lines: frozenset[int]


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)
    placeholders: set[int] = field(default_factory=set)

    def comment(self, indent: int, text: str) -> None:
        width = max(_WRAP - indent - 2, 40)
        for line in textwrap.wrap(text, width):
            self.lines.append(f"{' ' * indent}# {line}")

    def line(self, text: str, *, placeholder: bool = False) -> None:
        self.lines.append(text)
        if placeholder:
            self.placeholders.add(len(self.lines))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ----------------------------------------------------------------------------- the schema


def schema_family(leaf_type: LeafType) -> str:
    return "knowledge" if leaf_type == "knowledge" else "skills"


def latest_schema(family: str) -> tuple[int, Path]:
    """The newest schema of ``family`` (``knowledge`` or ``skills``): its version and file."""
    version = latest_version(family)
    return version, SCHEMA_DIR / schema_name(family, version)


def _ordered(names: Iterator[str] | list[str], order_key: str) -> list[str]:
    order = KEY_ORDER.get(order_key, ())
    names = list(names)
    return [n for n in order if n in names] + [n for n in names if n not in order]


# ----------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _At:
    """Where a node is written: the column of its keys, and whether its fields get comments."""

    indent: int
    commented: bool


@dataclass(frozen=True)
class _Ctx:
    """What a rendering needs besides the schema node at hand."""

    leaf_type: LeafType
    version: int
    limits: ValidateConfig
    contexts: tuple[str, ...]
    patterns: tuple[str, ...]


def _limits_note(name: str, ctx: _Ctx) -> str:
    if name in _CONVENTIONS:
        return " " + _CONVENTIONS[name]
    if name == "context":
        return f" At most {ctx.limits.max_context_words} words."
    if name == "answer":
        return f" Question and answer together: at most {ctx.limits.max_qa_words} words."
    return ""


def _field_comment(name: str, node: Mapping[str, Any], required: bool, ctx: _Ctx) -> str:
    text = str(node.get("description") or name.replace("_", " ").capitalize() + ".")
    if not text.endswith("."):
        text += "."
    if node.get("type") == "array" and "at least" not in text.lower():
        text += _count_note(node)
    examples = node.get("examples")
    if isinstance(examples, list) and examples and node.get("type") == "string":
        text += " For example: " + ", ".join(f"`{e}`" for e in examples[:3]) + "."
    text += _limits_note(name, ctx)
    if not required:
        text += " Required for a grounded skill." if name == "context" else " Optional."
    return text


def _count_note(node: Mapping[str, Any]) -> str:
    low, high = node.get("minItems"), node.get("maxItems")
    note = f" At least {low} item{'s' if low != 1 else ''}" if low else ""
    if high:
        note += f"{',' if note else ' At'} at most {high}"
    if note and node.get("uniqueItems"):
        note += ", all different"
    return note + "." if note else ""


def _wanted(name: str, required: bool, ctx: _Ctx) -> bool:
    """Optional fields are written only where this leaf type needs them."""
    if required:
        return True
    if name == "context":
        return ctx.leaf_type == "grounded-skill"
    return False


def _scalar(w: _Writer, indent: str, prefix: str, name: str, value: str | None) -> None:
    if value is not None:
        w.line(f"{indent}{prefix}{name}: {value}")
    elif name in _BLOCK_FIELDS:
        w.line(f"{indent}{prefix}{name}: |", placeholder=True)
    else:
        w.line(f'{indent}{prefix}{name}: ""', placeholder=True)


def _block_text(w: _Writer, indent: str, prefix: str, name: str, text: str) -> None:
    w.line(f"{indent}{prefix}{name}: |")
    pad = " " * (len(indent) + len(prefix) + 2)
    for line in text.splitlines():
        w.line(f"{pad}{line}".rstrip())


def _mapping(
    w: _Writer, node: Mapping[str, Any], at: _At, order_key: str, ctx: _Ctx, item: int = -1
) -> None:
    """Write ``node``'s properties; as list item number ``item`` (from 0) the first one gets
    ``- ``. Only the first item of a list is commented."""
    indent = at.indent
    commented = at.commented and item <= 0
    props: dict[str, Any] = node.get("properties") or {}
    required = set(node.get("required") or ())
    names = [n for n in _ordered(list(props), order_key) if _wanted(n, n in required, ctx)]
    for i, name in enumerate(names):
        prefix = ("- " if i == 0 else "  ") if item >= 0 else ""
        if commented:
            note = _field_comment(name, props[name], name in required, ctx)
            w.comment(indent + (len(prefix) if i else 0), note)
        field_at = _At(indent + len(prefix), commented)
        _field(w, field_at, prefix, name, props[name], ctx, item)


def _field(
    w: _Writer, at: _At, prefix: str, name: str, node: Mapping[str, Any], ctx: _Ctx, item: int
) -> None:
    """One ``name: value`` line (and what nests under it); ``at.indent`` is the key's column."""
    pad = " " * (at.indent - len(prefix))
    kind = node.get("type")
    inner = _At(at.indent + 2, at.commented)
    if name == "version":
        w.line(f"{pad}{prefix}version: {_version_value(node, ctx)}")
    elif name == "context" and 0 <= item < len(ctx.contexts):
        _block_text(w, pad, prefix, name, ctx.contexts[item])
    elif kind == "object":
        w.line(f"{pad}{prefix}{name}:")
        _mapping(w, node, inner, name, ctx)
    elif kind == "array":
        w.line(f"{pad}{prefix}{name}:")
        _items(w, node, inner, name, ctx)
    else:
        _scalar(w, pad, prefix, name, "." if name == "repo" else None)


def _version_value(node: Mapping[str, Any], ctx: _Ctx) -> str:
    for key in ("const", "default"):
        if isinstance(node.get(key), int):
            return str(node[key])
    enum = node.get("enum")
    if isinstance(enum, list) and all(isinstance(v, int) for v in enum):
        return str(max(enum))
    return str(ctx.version)


def _items(w: _Writer, node: Mapping[str, Any], at: _At, name: str, ctx: _Ctx) -> None:
    indent = at.indent
    items: dict[str, Any] = node.get("items") or {}
    count = max(int(node.get("minItems") or 1), 1)
    if name == "patterns" and ctx.patterns:
        for pattern in ctx.patterns:
            w.line(f"{' ' * indent}- {pattern}")
        return
    for index in range(count):
        if items.get("type") == "object":
            _mapping(w, items, at, name, ctx, item=index)
        else:
            w.line(f'{" " * indent}- ""', placeholder=True)


# ----------------------------------------------------------------------------- the command


def render_qna(
    leaf_type: LeafType,
    *,
    modeline: str,
    limits: ValidateConfig,
    contexts: tuple[str, ...] = (),
    patterns: tuple[str, ...] = (),
) -> tuple[str, frozenset[int]]:
    """The ``qna.yaml`` text for a new leaf, and its placeholder lines."""
    family = schema_family(leaf_type)
    version = latest_version(family)
    schema = load_schema(family, version)
    ctx = _Ctx(leaf_type, version, limits, contexts, patterns)
    w = _Writer()
    w.line(f"# yaml-language-server: $schema={modeline}")
    w.comment(0, _INTRO[leaf_type] + _HOW_TO)
    _mapping(w, schema, _At(0, True), "", ctx)
    return w.text(), frozenset(w.placeholders)


def _leaf_dir(path: Path, taxonomy_root: Path) -> Path:
    if not path.is_absolute() and path.parts and path.parts[0] in TOPS:
        return taxonomy_root / path
    return path.resolve()


def _check_place(leaf_dir: Path, leaf_type: LeafType) -> None:
    root = find_root(leaf_dir)
    top = "knowledge" if leaf_type == "knowledge" else "compositional_skills"
    rel = leaf_dir.relative_to(root).parts if root is not None else ()
    if len(rel) < 2 or (rel[0] != top and not (top != "knowledge" and rel[0] in TOPS[1:])):
        raise UsageError(
            f"{leaf_dir}: a {leaf_type} leaf goes in a folder under {top}/ of a taxonomy",
            hint=f"for example: seedtree new {leaf_type} {top}/<area>/<topic>",
        )
    if (leaf_dir / QNA).exists():
        raise UsageError(f"{leaf_dir / QNA} already exists", hint="choose a new folder")
    _check_names(leaf_dir, rel)


def _check_names(leaf_dir: Path, rel: tuple[str, ...]) -> None:
    """New folders are named as the validator wants, and no leaf sits above the new one."""
    root = leaf_dir.parents[len(rel) - 1]
    for depth, part in enumerate(rel[1:], start=2):
        if not (root.joinpath(*rel[:depth])).exists() and not FOLDER_NAME.match(part):
            good = re.sub(r"[^a-z0-9_]+", "_", part.lower()).strip("_")
            raise UsageError(
                f"{leaf_dir}: folder name '{part}' is not lowercase letters, digits and "
                "underscores",
                hint=f"use '{good}'",
            )
    for parent in list(leaf_dir.parents)[: len(rel) - 1]:
        if (parent / QNA).exists():
            raise UsageError(
                f"{parent / QNA}: the new leaf would sit inside this leaf",
                hint="leaves do not contain leaves: choose a folder beside it",
            )


_NOT_PROSE = ("#", "|", "```", "- ", "* ", ">")


def _paragraphs(text: str, max_words: int) -> tuple[str, ...]:
    """Up to 5 prose paragraphs of a document, spread over it, each within the word limit."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text)]
    prose = [
        b
        for b in blocks
        if b and not b.startswith(_NOT_PROSE) and 20 <= len(b.split()) <= max_words
    ]
    if len(prose) <= 5:
        return tuple(prose)
    step = len(prose) / 5
    return tuple(prose[int(i * step)] for i in range(5))


def _read_document(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the document: {exc}") from None


def _modeline(leaf_dir: Path, repo_root: Path, schema: Path) -> str:
    local = repo_root / "schemas" / schema.name
    target = local if local.is_file() else schema
    return Path(os.path.relpath(target, leaf_dir)).as_posix()


def _attribution_template() -> str:
    return "".join(f"{name}:\n" for name in ATTRIBUTION_FIELDS)


def create_leaf(
    leaf_type: LeafType,
    path: Path,
    *,
    repo_root: Path,
    taxonomy_root: Path,
    limits: ValidateConfig,
    from_document: Path | None = None,
) -> Scaffold:
    """Create the leaf folder ``path`` (relative to the taxonomy root when it starts with
    ``knowledge/`` or ``compositional_skills/``) with ``qna.yaml`` and ``attribution.txt``."""
    leaf_dir = _leaf_dir(path, taxonomy_root)
    _check_place(leaf_dir, leaf_type)
    if from_document is not None and leaf_type == "skill":
        raise UsageError(
            "--from-document works with knowledge and grounded-skill leaves",
            hint="a freeform skill has no document or context",
        )
    text = _read_document(from_document) if from_document is not None else ""
    contexts = _paragraphs(text, limits.max_context_words) if text else ()
    leaf_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    patterns: tuple[str, ...] = ()
    if from_document is not None and leaf_type == "knowledge":
        copy = leaf_dir / from_document.name
        if copy.resolve() != from_document.resolve():
            shutil.copyfile(from_document, copy)
            files.append(copy)
        patterns = (copy.resolve().relative_to(repo_root.resolve()).as_posix(),)
    _, schema = latest_schema(schema_family(leaf_type))
    qna, holes = render_qna(
        leaf_type,
        modeline=_modeline(leaf_dir, repo_root, schema),
        limits=limits,
        contexts=contexts,
        patterns=patterns,
    )
    write_text(leaf_dir / QNA, qna)
    write_text(leaf_dir / ATTRIBUTION, _attribution_template())
    files[:0] = [leaf_dir / QNA, leaf_dir / ATTRIBUTION]
    return Scaffold(leaf_dir, tuple(files), holes)
