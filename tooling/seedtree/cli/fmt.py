"""CLI: ``seedtree fmt``: fix the formatting of qna.yaml files."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, PathsArg, RepoOption, app, paths_or_root


@app.command("fmt", rich_help_panel="Contributing")
def fmt(
    paths: PathsArg = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Fix whitespace, indentation and key order of qna.yaml files without changing a value."""
    from seedtree.authoring.fmt import run_fmt

    return run_fmt(paths_or_root(paths, repo_root, config), check=check)
