"""The plan of a retrain: what a retrain of ``HEAD`` would do, decided before any of it is done.

Leaves are compared by content hash with the starting version's lineage; git's change detection
only names renames. A leaf that cannot be loaded, whose documents cannot be resolved or that
does not validate is skipped, with why."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from seedtree.config import Config
from seedtree.errors import SeedtreeError, UsageError
from seedtree.git import head_commit, run_git
from seedtree.models import resolve_model
from seedtree.project import Project
from seedtree.retrain.start import base_name, start_release
from seedtree.retrain.state import Options, Plan
from seedtree.taxonomy.changes import ChangedLeaves, changed_leaves
from seedtree.taxonomy.doccache import cached_leaf_hash
from seedtree.taxonomy.leaves import QNA, Leaf, load_each
from seedtree.validate.api import validate_leaf
from seedtree.versions.artifacts import local_artifacts
from seedtree.versions.lineage import Release
from seedtree.versions.tags import releases

Hashes = dict[str, str]  # leaf id -> content hash
Skipped = dict[str, str]  # leaf id -> why it is not trained in this run


def base_of(config: Config, options: Options) -> str:
    return base_name(config, options.base_model)


def start_from(project: Project, options: Options) -> Release | None:
    return start_release(project, options.base_model)


def _require_clean(project: Project) -> None:

    rel = os.path.relpath(project.taxonomy_root, project.repo_root)
    dirty = run_git(project.repo_root, "status", "--porcelain", "--", rel).strip()
    if dirty:
        raise UsageError(
            f"the taxonomy in {project.repo_root} has uncommitted changes:\n{dirty}",
            hint="commit them first: a model version is trained on a commit",
        )


def _leaf_hashes(project: Project, leaves: Mapping[str, Leaf]) -> tuple[Hashes, Skipped]:
    """Every leaf's content hash (documents from the digest cache). A leaf whose documents
    cannot be resolved is skipped, with why, unless ``retrain.strict_documents``."""
    hashes: Hashes = {}
    skipped: Skipped = {}
    for leaf_id, leaf in sorted(leaves.items()):
        try:
            hashes[leaf_id] = cached_leaf_hash(
                leaf, project.repo_root, settings=project.config.documents
            )
        except SeedtreeError as exc:  # a bad reference (2) or an unreachable repository (3)
            if project.config.retrain.strict_documents:
                raise
            skipped[leaf_id] = f"documents unavailable: {exc.message}"
    return hashes, skipped


def _renames(changed: ChangedLeaves, known: Hashes, hashes: Hashes) -> dict[str, str]:
    """Leaves git saw move whose content is what the previous version was trained on."""
    renamed = {}
    for entry in changed.leaves:
        old = entry.renamed_from or ""
        if entry.kind == "renamed" and entry.id in hashes and known.get(old) == hashes[entry.id]:
            renamed[old] = entry.id
    return renamed


def _to_generate(known: Hashes, hashes: Hashes, renamed: Mapping[str, str]) -> dict[str, str]:
    """Every leaf whose hash differs from the lineage's, whatever git's diff says."""
    moved = set(renamed.values())
    return {
        leaf: "modified" if leaf in known else "added"
        for leaf, digest in hashes.items()
        if known.get(leaf) != digest and leaf not in moved
    }


def _invalid(project: Project, ids: Iterable[str]) -> Skipped:
    """Leaves with errors at the latest schema (retrain trains only what validates)."""
    found: Skipped = {}
    for leaf_id in ids:
        qna = project.taxonomy_root / leaf_id / QNA
        config = project.config.validate_
        errors = [f for f in validate_leaf(qna, config=config, held_to_latest=True) if f.is_error]
        if errors:
            shown = [f"{f.file}:{f.line}:{f.column}: {f.message} [{f.rule}]" for f in errors[:3]]
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            found[leaf_id] = "invalid: " + "; ".join(shown) + more
    return found


def _kept(hashes: Hashes, known: Hashes, skipped: Skipped) -> Hashes:
    """Hashes to record: a skipped leaf keeps the one it was last trained on, if any."""
    kept = {leaf: h for leaf, h in hashes.items() if leaf not in skipped}
    kept.update({leaf: known[leaf] for leaf in skipped if leaf in known})
    return dict(sorted(kept.items()))


def make_plan(project: Project, options: Options) -> Plan:
    """What a retrain of ``HEAD`` would do, without doing any of it.

    Leaves are compared by content hash with the starting version's lineage; git's change
    detection only names renames. A dry run names the starting model without resolving it."""

    _require_clean(project)
    start = start_from(project, options)
    known = dict(start.lineage.leaves) if start else {}
    changed = changed_leaves(
        project.repo_root, project.taxonomy_root, base=start.commit if start else "empty"
    )
    loaded, unloadable = load_each(project.taxonomy_root)
    leaves = {leaf.id: leaf for leaf in loaded}
    hashes, skipped = _leaf_hashes(project, leaves)
    skipped.update({leaf: f"cannot be loaded: {why}" for leaf, why in unloadable.items()})
    renamed = _renames(changed, known, hashes)
    generate = _to_generate(known, hashes, renamed)
    skipped.update(_invalid(project, generate))
    recorded = _kept(hashes, known, skipped)
    removed = tuple(sorted(leaf for leaf in known if leaf not in {*leaves, *renamed, *skipped}))
    done = set(generate) | set(renamed.values()) | set(skipped)
    number = (releases(project.repo_root)[-1].number + 1) if releases(project.repo_root) else 1
    return Plan(
        commit=head_commit(project.repo_root),
        version=f"v{number}",
        previous=start.version if start else None,
        base_model=start.lineage.base_model if start else base_of(project.config, options),
        start_model=base_of(project.config, options)
        if options.dry_run and start is None
        else str(start_model(project, start, options)),
        base_commit=start.commit if start else None,
        generate={k: v for k, v in sorted(generate.items()) if k not in skipped},
        removed=removed,
        renamed=dict(sorted(renamed.items())),
        unchanged=tuple(sorted(leaf for leaf in recorded if leaf not in done)),
        leaves=recorded,
        skipped=dict(sorted(skipped.items())),
    )


def start_model(project: Project, start: Release | None, options: Options) -> Path:
    if start is not None:
        return local_artifacts(project.repo_root, project.config.store, start) / "model"

    return resolve_model(base_of(project.config, options))
