"""CLI: ``seedtree fmt``: fix the formatting of qna.yaml files."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, PathsArg, RepoOption, app


@app.command("fmt", rich_help_panel="Contributing")
def fmt(
    paths: PathsArg = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Fix what validation reports about whitespace, indentation, the final newline and tabs,
    without changing a value (and, with fmt.key_order in seedtree.yaml, the key order)."""
    from seedtree.authoring.commands import run_fmt
    from seedtree.project import open_project

    project = open_project(repo_root, config)
    key_order = project.config.fmt.key_order
    targets = paths or [project.taxonomy_root]
    return run_fmt(targets, check=check, key_order=key_order, root=project.repo_root)
