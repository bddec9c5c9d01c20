"""CLI: ``seedtree new``, ``seedtree fmt`` and ``seedtree migrate`` (contributor conveniences)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


class LeafTypeArg(StrEnum):
    knowledge = "knowledge"
    skill = "skill"
    grounded_skill = "grounded-skill"


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Files or folders (default: the taxonomy root).", show_default=False),
]


def _paths_or_root(
    paths: list[Path] | None, repo_root: Path | None, config: Path | None
) -> list[Path]:
    if paths:
        return paths
    from seedtree.project import open_project

    return [open_project(repo_root, config).taxonomy_root]


@app.command("new")
def new(
    leaf_type: Annotated[LeafTypeArg, typer.Argument(help="The kind of leaf to create.")],
    path: Annotated[
        Path,
        typer.Argument(
            help="The leaf folder; relative to the taxonomy root when it starts with "
            "knowledge/ or compositional_skills/.",
        ),
    ],
    from_document: Annotated[
        Path | None,
        typer.Option(
            "--from-document",
            help="A text or markdown document: knowledge copies it into the leaf and references "
            "it; knowledge and grounded skills take their contexts from its paragraphs.",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Create a leaf folder with a commented qna.yaml (latest schema) and attribution.txt."""
    from seedtree.project import open_project
    from seedtree.scaffold import run_new

    return run_new(
        leaf_type.value, path, open_project(repo_root, config), from_document=from_document
    )


@app.command("fmt")
def fmt(
    paths: PathsArg = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Fix whitespace, indentation and key order of qna.yaml files without changing a value."""
    from seedtree.fmt import run_fmt

    return run_fmt(_paths_or_root(paths, repo_root, config), check=check)


@app.command("migrate")
def migrate(
    paths: PathsArg = None,
    to: Annotated[int, typer.Option("--to", help="The schema version to migrate to.")] = 3,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Upgrade skills leaves to the latest version in place; list what knowledge leaves need."""
    from seedtree.migrate import run_migrate

    return run_migrate(_paths_or_root(paths, repo_root, config), to=to, dry_run=dry_run)
