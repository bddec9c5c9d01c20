"""CLI: ``seedtree generate``: synthetic data for leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command(rich_help_panel="Data and models")
def generate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Leaf folders, qna.yaml files or subtrees (default: every leaf)."),
    ] = None,
    changed: Annotated[
        bool, typer.Option("--changed", help="Only the leaves changed since --base.")
    ] = False,
    base: Annotated[
        str | None,
        typer.Option("--base", help="With --changed: compare with the merge-base of this ref."),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option("--samples", "-n", min=0, help="Accepted samples wanted per leaf."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            file_okay=False,
            help="Dataset folder (default: $SEEDTREE_HOME/repos/<id>/generate/datasets).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the expected teacher calls and tokens only.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Generate synthetic training data from leaves with the configured teacher."""
    from seedtree.config import with_overrides
    from seedtree.generate.commands import run_generate
    from seedtree.project import open_project

    project = open_project(repo_root, config)
    if quiet:
        project = type(project)(
            project.repo_root,
            project.taxonomy_root,
            with_overrides(project.config, "generate", quiet=True),
        )
    return run_generate(
        project,
        paths=paths or [],
        changed=changed,
        base=base,
        samples=samples,
        out_dir=out,
        dry_run=dry_run,
        quiet=quiet,
    )
