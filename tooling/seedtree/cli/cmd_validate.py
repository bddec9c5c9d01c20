"""CLI: ``seedtree validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Leaves or folders to validate.")
    ] = None,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Validate qna.yaml leaves (placeholder until the validator lands)."""
    from seedtree.project import open_project
    from seedtree.taxonomy import load_taxonomy

    project = open_project(repo_root, config)
    leaves = load_taxonomy(project.taxonomy_root)
    typer.echo(f"{len(leaves)} leaves loaded")
    return 0
