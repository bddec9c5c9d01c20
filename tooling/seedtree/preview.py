"""``seedtree preview``: what the teacher makes of a pull request's changed leaves.

Reads top to bottom: find the changed leaves (:mod:`seedtree.gitdiff`), validate them
(:mod:`seedtree.validate`), generate a few samples from each valid one with the configured teacher
and estimate the full generation (:mod:`seedtree.generate`), say what retraining drops for deleted
ones, then write ``preview.json`` (data) and ``preview.md`` (the comment, every PR string escaped
by :mod:`seedtree.mdsafe`).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedtree import atomic
from seedtree.errors import EXIT_OK
from seedtree.findings import Finding
from seedtree.preview_model import (
    ChunkView,
    DroppedView,
    Figure,
    FindingView,
    LeafPreview,
    PreviewReport,
    SampleView,
    SeedView,
)
from seedtree.project import Project
from seedtree.taxonomy import QNA, Leaf, load_leaf

if TYPE_CHECKING:
    from seedtree.gitdiff import ChangedLeaf, ChangedLeaves

DEFAULT_OUT = Path("preview.md")


# -- validation ----------------------------------------------------------------------------------


def _repo_relative(file: str, repo_root: Path) -> str:
    path = Path(file)
    absolute = path if path.is_absolute() else (Path.cwd() / path)
    try:
        return absolute.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _finding_view(finding: Finding, repo_root: Path) -> FindingView:
    return FindingView(
        file=_repo_relative(finding.file, repo_root),
        line=finding.line,
        column=finding.column,
        severity=finding.severity,
        rule=finding.rule,
        message=finding.message,
    )


def _leaf_dir(project: Project, leaf_id: str) -> str:
    folder = project.taxonomy_root / leaf_id
    return _repo_relative(str(folder), project.repo_root) + "/"


def validate_changed(
    project: Project, changed: Sequence[ChangedLeaf]
) -> dict[str, list[FindingView]]:
    """Findings per changed (not deleted) leaf id, with repository-relative paths."""
    from seedtree.validate.api import validate_paths

    paths = [
        project.taxonomy_root / c.id / QNA
        for c in changed
        if c.kind != "deleted" and (project.taxonomy_root / c.id / QNA).is_file()
    ]
    result = validate_paths(paths, config=project.config.validate_, latest_for=lambda _: True)
    views = [_finding_view(f, project.repo_root) for f in result.findings]
    by_leaf: dict[str, list[FindingView]] = {c.id: [] for c in changed}
    for leaf_id in by_leaf:
        prefix = _leaf_dir(project, leaf_id)
        by_leaf[leaf_id] = sorted(
            (v for v in views if v.file.startswith(prefix)), key=lambda v: (v.file, v.line)
        )
    return by_leaf


# -- one leaf's static part ----------------------------------------------------------------------


def _seeds(leaf: Leaf) -> list[SeedView]:
    if leaf.kind == "knowledge":
        return [
            SeedView(question=qa.question, answer=qa.answer, context=seed.context)
            for seed in leaf.knowledge_seeds
            for qa in seed.qas
        ]
    return [
        SeedView(question=s.question, answer=s.answer, context=s.context) for s in leaf.skill_seeds
    ]


def _dropped(project: Project, base_commit: str | None, leaf_id: str) -> DroppedView:
    """What the base had for a deleted leaf: its seeds, and samples stored for it here."""
    seeds = 0
    if base_commit is not None:
        from seedtree.git import run_git

        rel = _leaf_dir(project, leaf_id) + QNA
        try:
            import yaml

            data = yaml.safe_load(run_git(project.repo_root, "show", f"{base_commit}:{rel}"))
            seeds = len(data.get("seed_examples") or []) if isinstance(data, dict) else 0
        except Exception:  # the base copy is unreadable: say 0 rather than fail the preview
            seeds = 0
    return DroppedView(seeds=seeds, samples=_stored_samples(project, leaf_id))


def _stored_samples(project: Project, leaf_id: str) -> int:
    """Generated samples this machine holds for ``leaf_id`` (0 on a fresh CI runner)."""
    try:
        from seedtree.generate.store import stored_sample_count
    except ImportError:
        return 0
    return int(stored_sample_count(project.repo_root, leaf_id))


def _static_preview(
    project: Project, change: ChangedLeaf, findings: list[FindingView], base_commit: str | None
) -> tuple[LeafPreview, Leaf | None]:
    common: dict[str, Any] = {
        "id": change.id,
        "change": change.kind,
        "renamed_from": change.renamed_from,
        "files": list(change.files),
        "findings": findings,
    }
    if change.kind == "deleted":
        return LeafPreview(**common, dropped=_dropped(project, base_commit, change.id)), None
    qna = project.taxonomy_root / change.id / QNA
    if any(f.severity == "error" for f in findings) or not qna.is_file():
        note = "not generated: fix the validation errors first"
        return LeafPreview(**common, note=note), None
    leaf = load_leaf(qna, project.taxonomy_root)
    return LeafPreview(**common, kind=leaf.kind, seeds=_seeds(leaf)), leaf


# -- generation ----------------------------------------------------------------------------------


def _figures(pairs: Iterable[tuple[str, Any]]) -> list[Figure]:
    return [Figure(label=str(k), value=float(v)) for k, v in pairs if isinstance(v, int | float)]


def _sample_view(row: dict[str, Any]) -> SampleView:
    messages = row.get("messages") or []
    by_role = {m.get("role"): str(m.get("content", "")) for m in messages}
    meta = row.get("metadata") or {}
    scores = meta.get("judge_scores") or meta.get("scores") or {}
    return SampleView(
        question=by_role.get("user", ""),
        answer=by_role.get("assistant", ""),
        context=meta.get("context"),
        scores={str(k): float(v) for k, v in scores.items() if isinstance(v, int | float)},
    )


def _chunk_views(rows: Sequence[dict[str, Any]]) -> list[ChunkView]:
    seen: dict[str, ChunkView] = {}
    for row in rows:
        meta = row.get("metadata") or {}
        chunk = meta.get("chunk_id")
        if chunk and chunk not in seen and meta.get("chunk_text"):
            source, _, index = str(chunk).rpartition("#")
            number = int(index) if index.isdigit() else len(seen)
            seen[chunk] = ChunkView(
                source=source or str(chunk), index=number, text=meta["chunk_text"]
            )
    return list(seen.values())


def generate_previews(
    project: Project, leaves: Sequence[Leaf], samples: int, quiet: bool
) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """Teacher id and, per leaf id: samples (rows), funnel and estimate figures."""
    try:
        from seedtree.generate.run import estimate, generate_leaves
    except ImportError as exc:  # a light install without the generate extra
        note = f"not generated: generation is not available here ({exc.name} missing)"
        return None, {leaf.id: {"note": note} for leaf in leaves}
    from seedtree.teacher import create_teacher

    out: dict[str, dict[str, Any]] = {leaf.id: {} for leaf in leaves}
    for leaf_id, cost in _per_leaf(estimate(list(leaves), project.config.generate)).items():
        out.setdefault(leaf_id, {})["estimate"] = cost
    if samples <= 0 or not leaves:
        return None, out
    teacher = create_teacher(project.config.teacher)
    try:
        with tempfile.TemporaryDirectory(prefix="seedtree-preview-") as tmp:
            report = generate_leaves(
                list(leaves), teacher, repo_root=project.repo_root,
                config=project.config.generate, samples=samples, out_dir=Path(tmp), quiet=quiet,
            )  # fmt: skip
            for leaf_id, result in _per_leaf(report).items():
                out.setdefault(leaf_id, {})["result"] = result
        return teacher.id, out
    finally:
        teacher.close()


def _per_leaf(value: Any) -> dict[str, Any]:
    """A mapping leaf id -> per-leaf result from whatever container generation returns."""
    items = getattr(value, "leaves", value)
    if isinstance(items, dict):
        return {str(k): v for k, v in items.items()}
    return {str(getattr(item, "leaf_id", getattr(item, "leaf", ""))): item for item in items}


def _as_pairs(value: Any) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    elif hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        value = asdict(value)
    return list(value.items()) if isinstance(value, dict) else []


def _with_generation(view: LeafPreview, generated: dict[str, Any]) -> LeafPreview:
    if "note" in generated:
        return view.model_copy(update={"note": generated["note"]})
    result = generated.get("result")
    rows = [r if isinstance(r, dict) else _as_row(r) for r in getattr(result, "samples", []) or []]
    funnel = getattr(result, "funnel", None)
    return view.model_copy(
        update={
            "samples": [_sample_view(r) for r in rows],
            "funnel": _figures(_as_pairs(funnel)),
            "estimate": _figures(_as_pairs(generated.get("estimate"))),
            "chunks": _chunk_views(rows),
        }
    )


def _as_row(sample: Any) -> dict[str, Any]:
    if hasattr(sample, "to_json"):
        return dict(sample.to_json())
    return dict(_as_pairs(sample))


# -- the whole preview ---------------------------------------------------------------------------


def build_preview(
    project: Project, *, base: str | None, samples: int, quiet: bool = False
) -> PreviewReport:
    """Everything the preview shows, as data."""
    from seedtree.gitdiff import changed_leaves

    started = time.perf_counter()
    changed = changed_leaves(project.repo_root, project.taxonomy_root, base)
    return preview_changes(project, changed, samples=samples, quiet=quiet, started=started)


def preview_changes(
    project: Project, changed: ChangedLeaves, *, samples: int, quiet: bool, started: float
) -> PreviewReport:
    """The preview of ``changed``: validation, generation, estimate, what deletions drop."""
    findings = validate_changed(project, changed.leaves)
    views, leaves = [], []
    for change in changed.leaves:
        view, leaf = _static_preview(project, change, findings[change.id], changed.base_commit)
        views.append(view)
        if leaf is not None:
            leaves.append(leaf)
    teacher, generated = generate_previews(project, leaves, samples, quiet)
    views = [_with_generation(v, generated[v.id]) if v.id in generated else v for v in views]
    return PreviewReport(
        base_ref=changed.base_ref,
        base_commit=changed.base_commit,
        head_commit=_head_commit(project.repo_root),
        teacher=teacher,
        samples_per_leaf=samples,
        seconds=round(time.perf_counter() - started, 1),
        leaves=views,
    )


def _head_commit(repo_root: Path) -> str | None:
    from seedtree.git import head_commit

    try:
        return str(head_commit(repo_root))
    except Exception:  # an unborn branch: the preview still describes the working tree
        return None


def run_preview(
    project: Project,
    *,
    base: str | None = None,
    samples: int | None = None,
    out: Path | None = None,
    quiet: bool = False,
) -> int:
    """``seedtree preview``: write preview.md and preview.json, print a one-line summary."""
    from seedtree.preview_render import links_from_env, render

    count = project.config.preview.samples if samples is None else samples
    report = build_preview(project, base=base, samples=count, quiet=quiet)
    markdown = render(report, links_from_env(os.environ, report.head_commit))
    md_path = out or DEFAULT_OUT
    json_path = md_path.with_suffix(".json")
    atomic.write_text(md_path, markdown + "\n")
    atomic.write_text(json_path, report.model_dump_json(indent=2) + "\n")
    errors = sum(leaf.errors for leaf in report.leaves)
    print(
        f"preview: {len(report.leaves)} changed leaf(s) against {report.base_ref}, "
        f"{errors} validation error(s), {report.seconds:.0f} s; wrote {md_path} and {json_path}"
    )
    return EXIT_OK
