"""The taxonomy: finding its root and its leaves, and loading a leaf into a typed value.

A leaf is a folder holding ``qna.yaml`` (plus ``attribution.txt``, and for knowledge, documents).
Its id is its folder path relative to the taxonomy root, in POSIX form, e.g.
``compositional_skills/writing/haiku``. Loading here assumes a leaf that validates; the validator
(:mod:`seedtree.validate`) is what explains, with positions, why a leaf does not.

One boundary for leaf files everywhere: ``qna.yaml`` and ``attribution.txt`` must be regular
files. A leaf whose file is a symlink (into the taxonomy or out of it) is refused unread by
:func:`load_leaf`, named in the error, and reported by validation (``leaf-symlink``,
``symlink-outside``); a walk (:func:`iter_qna_files`) lists it so that no stage skips it silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seedtree.errors import SeedtreeError, UsageError
from seedtree.project import ATTRIBUTION as ATTRIBUTION
from seedtree.project import QNA as QNA
from seedtree.project import TOPS as TOPS
from seedtree.taxonomy.safewalk import leads_outside, tree
from seedtree.yamlpos import parse_file

LeafKind = Literal["knowledge", "skill", "grounded_skill"]


@dataclass(frozen=True)
class QA:
    question: str
    answer: str


@dataclass(frozen=True)
class SkillSeed:
    question: str
    answer: str
    context: str | None = None


@dataclass(frozen=True)
class KnowledgeSeed:
    context: str
    qas: tuple[QA, ...]


@dataclass(frozen=True)
class DocumentRef:
    """``document: {repo, commit, patterns}``; ``repo: .`` means this taxonomy repository."""

    repo: str
    commit: str | None
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Leaf:
    id: str
    root: Path
    kind: LeafKind
    version: int
    created_by: str
    task_description: str
    skill_seeds: tuple[SkillSeed, ...] = ()
    knowledge_seeds: tuple[KnowledgeSeed, ...] = ()
    domain: str | None = None
    document_outline: str | None = None
    document: DocumentRef | None = None
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def dir(self) -> Path:
        return self.root / self.id

    @property
    def qna_path(self) -> Path:
        return self.dir / QNA

    @property
    def attribution_path(self) -> Path:
        return self.dir / ATTRIBUTION

    @property
    def top(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def seed_questions(self) -> tuple[QA, ...]:
        """Every seed question with its answer, whatever the leaf type (used for evaluation)."""
        if self.kind == "knowledge":
            return tuple(qa for seed in self.knowledge_seeds for qa in seed.qas)
        return tuple(QA(s.question, s.answer) for s in self.skill_seeds)


def find_root(path: Path) -> Path | None:
    """The taxonomy root for ``path``: the folder above its knowledge/skills part, if any."""
    path = path.resolve()
    if path.is_dir() and any((path / top).is_dir() for top in TOPS):
        return path
    for parent in [path, *path.parents]:
        if parent.name in TOPS:
            return parent.parent
    return None


def leaf_id(root: Path, qna_path: Path) -> str:
    return qna_path.resolve().parent.relative_to(root.resolve()).as_posix()


def linked_files(folder: Path) -> list[Path]:
    """The leaf files of ``folder`` that are symlinks: leaf files must be regular files."""
    return [folder / name for name in (QNA, ATTRIBUTION) if (folder / name).is_symlink()]


def qna_files_under(folder: Path, depth: int) -> list[Path]:
    """Every leaf's ``qna.yaml`` under ``folder`` (``depth`` folders below the taxonomy root),
    sorted by path, found by :func:`~seedtree.taxonomy.safewalk.tree` (nothing below its depth
    cap). Symlinks are listed, for :func:`load_leaf` to refuse by name; folders are not."""
    found = tree(folder, QNA.__eq__, depth=depth).found
    return [Path(e.path) for e in found if e.is_symlink() or e.is_file(follow_symlinks=False)]


def iter_qna_files(root: Path) -> Iterator[Path]:
    """Every leaf's ``qna.yaml`` under the taxonomy tops, sorted by path (see
    :func:`qna_files_under`)."""
    for top in TOPS:
        base = root / top
        if base.is_dir() and not base.is_symlink():
            yield from qna_files_under(base, 1)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _skill_seeds(raw: Iterable[Mapping[str, Any]]) -> tuple[SkillSeed, ...]:
    return tuple(
        SkillSeed(_text(s.get("question")), _text(s.get("answer")), _text(s.get("context")) or None)
        for s in raw
    )


def _knowledge_seeds(raw: Iterable[Mapping[str, Any]]) -> tuple[KnowledgeSeed, ...]:
    seeds = []
    for s in raw:
        qas = tuple(
            QA(_text(q.get("question")), _text(q.get("answer")))
            for q in s.get("questions_and_answers") or ()
        )
        seeds.append(KnowledgeSeed(_text(s.get("context")), qas))
    return tuple(seeds)


def _document(raw: Any) -> DocumentRef | None:
    if not isinstance(raw, Mapping):
        return None
    commit = raw.get("commit")
    return DocumentRef(
        repo=_text(raw.get("repo")),
        commit=None if commit is None else _text(commit),
        patterns=tuple(_text(p) for p in raw.get("patterns") or ()),
    )


def leaf_from_data(root: Path, qna_path: Path, data: Mapping[str, Any]) -> Leaf:
    """Build a :class:`Leaf` from an already parsed (and validated) ``qna.yaml`` value."""
    lid = leaf_id(root, qna_path)
    raw_seeds = data.get("seed_examples") or []
    common: dict[str, Any] = {
        "id": lid,
        "root": root.resolve(),
        "version": int(data.get("version") or 1),
        "created_by": _text(data.get("created_by")),
        "data": data,
    }
    if lid.startswith("knowledge/"):
        return Leaf(
            kind="knowledge",
            task_description=_text(data.get("task_description")),
            knowledge_seeds=_knowledge_seeds(raw_seeds),
            domain=_text(data.get("domain")) or None,
            document_outline=_text(data.get("document_outline")) or None,
            document=_document(data.get("document")),
            **common,
        )
    seeds = _skill_seeds(raw_seeds)
    grounded = any(s.context for s in seeds)
    return Leaf(
        kind="grounded_skill" if grounded else "skill",
        task_description=_text(data.get("task_description")),
        skill_seeds=seeds,
        **common,
    )


def read_qna(qna_path: Path) -> Mapping[str, Any]:
    """Parse a ``qna.yaml`` for stages after validation, never trusting that validation ran:
    through the depth-limited parser (:mod:`seedtree.yamlpos`), within its size cap."""
    parsed = parse_file(qna_path)
    if not parsed.ok:
        first = next((f for f in parsed.findings if f.is_error), parsed.findings[0])
        raise UsageError(
            f"{first.file}:{first.line}:{first.column}: cannot load leaf: {first.message}",
            hint=f"run `seedtree validate {qna_path}`",
        )
    data = parsed.data
    if not isinstance(data, Mapping):
        raise UsageError(f"{qna_path}: not a mapping", hint=f"run `seedtree validate {qna_path}`")
    return data


def load_leaf(qna_path: Path, root: Path | None = None) -> Leaf:
    """The leaf of ``qna_path``; when its ``qna.yaml`` or ``attribution.txt`` is a symlink (out of
    the taxonomy or not), the leaf is refused unread."""
    root = root or find_root(qna_path)
    if root is None:
        raise UsageError(
            f"{qna_path}: not inside a taxonomy (no knowledge/, compositional_skills/ or "
            "foundational_skills/ folder above it)"
        )
    for path in (qna_path, qna_path.parent / ATTRIBUTION):
        if leads_outside(path, root):
            raise UsageError(
                f"{path}: a symlink that leads outside the taxonomy; the leaf is not read",
                hint="replace the symlink with the file itself",
            )
    linked = linked_files(qna_path.parent)
    if linked:
        raise UsageError(
            f"{linked[0]}:1:1: a symlink: leaf files ({QNA}, {ATTRIBUTION}) must be regular files; "
            "the leaf is not read",
            hint="replace the symlink with a copy of the file",
        )
    return leaf_from_data(root, qna_path, read_qna(qna_path))


def load_taxonomy(root: Path) -> list[Leaf]:
    """Every leaf of the taxonomy at ``root``, sorted by id."""
    return [load_leaf(p, root) for p in iter_qna_files(root)]


def load_each(root: Path) -> tuple[list[Leaf], dict[str, str]]:
    """Every leaf that loads, sorted by id, and why each other one does not (by leaf id)."""
    leaves: list[Leaf] = []
    refused: dict[str, str] = {}
    for path in iter_qna_files(root):
        try:
            leaves.append(load_leaf(path, root))
        except SeedtreeError as exc:
            refused[path.parent.relative_to(root).as_posix()] = exc.message
    return leaves, refused
