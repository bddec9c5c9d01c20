"""The bodies of ``seedtree new``, ``seedtree fmt`` and ``seedtree migrate``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from seedtree import termsafe
from seedtree.authoring.fmt import display_path, format_file, with_boundaries
from seedtree.authoring.migrate import migrate_file
from seedtree.authoring.scaffold import LeafType, create_leaf
from seedtree.errors import EXIT_FINDINGS, EXIT_OK
from seedtree.project import Project


def run_fmt(
    paths: list[Path],
    *,
    check: bool,
    key_order: bool = False,
    echo: Callable[[str], None] = print,
    root: Path | None = None,
) -> int:
    """Format every file; exit 1 if a file could not be fully fixed (or, with check, would
    change), 0 otherwise. No file leading outside ``root`` through a link is read or written."""
    results = [
        format_file(p, check=check, key_order=key_order, boundary=boundary)
        for p, boundary in with_boundaries(paths, root)
    ]
    verb = "would reformat" if check else "reformatted"
    for result in results:
        if result.changed:
            echo(termsafe.text(f"{verb} {display_path(result.path)}"))
        for note in result.notes:
            where = f"{note.file}:{note.line}:{note.column}"
            echo(termsafe.text(f"{where}: {note.rule}: {note.message}"))
    changed = sum(r.changed for r in results)
    failed = sum(bool(r.notes) for r in results)
    echo(f"{len(results)} files: {changed} {verb}, {failed} with problems left")
    return EXIT_FINDINGS if failed or (check and changed) else EXIT_OK


def run_migrate(
    paths: list[Path],
    *,
    to: int,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    root: Path | None = None,
) -> int:
    """Migrate every file; exit 1 when some file needs the contributor's work, else 0."""
    found = with_boundaries(paths, root)
    results = [migrate_file(p, to=to, dry_run=dry_run, boundary=b) for p, b in found]
    verb = "would migrate" if dry_run else "migrated"
    for r in results:
        if r.version < to and r.kind == "skill":
            echo(termsafe.text(f"{verb} {r.name} (skill v{r.version} -> v{to})"))
        if r.todo:
            echo(termsafe.text(f"{r.name}: {r.kind} v{r.version} needs these changes for v{to}:"))
            echo("\n".join(termsafe.text(f"  {t.file}:{t.line}: {t.message}") for t in r.todo))
    done = sum(1 for r in results if r.version < to and r.kind == "skill")
    manual = sum(1 for r in results if r.todo)
    echo(f"{len(results)} files: {done} {verb}, {manual} need changes by hand")
    return EXIT_FINDINGS if manual else EXIT_OK


def run_new(
    leaf_type: LeafType,
    path: Path,
    project: Project,
    *,
    from_document: Path | None = None,
    echo: Callable[[str], None] = print,
) -> int:
    """``seedtree new``: create the leaf and say what to do next."""
    made = create_leaf(
        leaf_type,
        path,
        repo_root=project.repo_root,
        taxonomy_root=project.taxonomy_root,
        limits=project.config.validate_,
        from_document=from_document,
    )
    for file in made.files:
        echo(f"created {display_path(file)}")
    echo(
        f"next: fill in the {len(made.placeholder_lines)} placeholders, then "
        f"`seedtree validate {display_path(made.leaf_dir)}`"
    )
    return EXIT_OK
