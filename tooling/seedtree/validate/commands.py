"""``seedtree validate``: choose the files and the version rule, validate, report, exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from seedtree.config import ValidateConfig
from seedtree.errors import EXIT_OK
from seedtree.findings import Finding
from seedtree.project import Project
from seedtree.taxonomy.documents import check_documents
from seedtree.taxonomy.leaves import QNA, load_leaf
from seedtree.validate.api import ValidationResult, targets_for, validate_targets
from seedtree.validate.baseline import apply_baseline, read_baseline, write_baseline
from seedtree.validate.report import RENDERERS

OutputFormat = Literal["auto", "text", "github", "json"]


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    output_format: OutputFormat = "auto"
    strict: bool = False
    schema_version: Literal["own", "latest"] = "own"
    changed: bool = False
    base: str | None = None
    documents: bool = False
    baseline: Path | None = None  # known findings do not fail (default: validate.baseline)
    write_baseline: Path | None = None  # record every finding as known, then exit 0


def choose_format(requested: OutputFormat) -> str:
    if requested != "auto":
        return requested
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _changed_paths(project: Project, base: str | None, err: TextIO) -> list[Path]:
    from seedtree.taxonomy.changes import changed_leaves

    changed = changed_leaves(project.repo_root, project.taxonomy_root, base)
    commit = (changed.base_commit or "")[:12]
    err.write(f"comparing with {changed.base_ref}{f' ({commit})' if commit else ''}\n")
    leaves = [leaf for leaf in changed.leaves if leaf.kind != "deleted"]
    paths = [project.taxonomy_root / leaf.id / QNA for leaf in leaves]
    deep = [project.taxonomy_root / folder for folder in changed.too_deep]
    return [p for p in paths if p.exists()] + [p for p in deep if p.is_dir()]


def _document_findings(
    result: ValidationResult, paths: Sequence[Path], project: Project
) -> list[Finding]:

    broken = {f.file for f in result.findings if f.is_error}
    found: list[Finding] = []
    for target in targets_for(paths):
        if target.shown in broken or target.root is None or target.path.name != QNA:
            continue
        leaf = load_leaf(target.path, target.root)
        if leaf.kind == "knowledge":
            found.extend(check_documents(leaf, project.repo_root))
    return found


def run_validate(
    project: Project, options: Options, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Validate, print the report, and return the exit code (0 clean, 1 findings)."""
    out, err = out or sys.stdout, err or sys.stderr
    config: ValidateConfig = project.config.validate_
    latest_for: Callable[[Path], bool] | None = None
    paths = list(options.paths) or [project.taxonomy_root]
    if options.changed:
        paths = _within(_changed_paths(project, options.base, err), options.paths)
        latest_for = _always
    elif options.schema_version == "latest":
        latest_for = _always
    result = (
        validate_targets(targets_for(paths, latest_for), config) if paths else ValidationResult(0)
    )
    if options.documents and paths:
        extra = _document_findings(result, paths, project)
        result = ValidationResult(result.files, [*result.findings, *extra])
    if options.write_baseline is not None:
        count = write_baseline(options.write_baseline, result.findings, project.repo_root)
        err.write(f"wrote {options.write_baseline}: {count} known findings\n")
        return EXIT_OK
    baseline = _baseline_path(project, options)
    if baseline is not None:
        result = apply_baseline(result, read_baseline(baseline), project.repo_root)
    name = choose_format(options.output_format)
    colour = name == "text" and out.isatty() and "NO_COLOR" not in os.environ
    RENDERERS[name](result, out, colour)
    return result.exit_code(options.strict)


def _baseline_path(project: Project, options: Options) -> Path | None:
    """--baseline, else ``validate.baseline`` from the configuration (relative to the repo)."""
    if options.baseline is not None:
        return options.baseline
    configured = project.config.validate_.baseline
    return project.repo_root / configured if configured else None


def _within(paths: list[Path], scopes: Sequence[Path]) -> list[Path]:
    """``paths`` inside any of ``scopes`` (all of them when no scope is given)."""
    if not scopes:
        return paths
    roots = [scope.resolve() for scope in scopes]
    return [p for p in paths if any(p.resolve().is_relative_to(r) for r in roots)]


def _always(path: Path) -> bool:
    return True
