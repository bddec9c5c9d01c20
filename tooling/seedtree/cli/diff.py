"""CLI: ``seedtree diff``: the leaves changed since a base."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


class _Format(StrEnum):
    text = "text"
    json = "json"


@app.command(rich_help_panel="Pull requests")
def diff(
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Compare with the merge-base of this ref (default: origin/main, else main; "
            "'empty' lists every leaf).",
        ),
    ] = None,
    output_format: Annotated[_Format, typer.Option("--format", help="text or json.")] = (
        _Format.text
    ),
    deepen: Annotated[
        bool,
        typer.Option("--deepen", help="In a shallow clone, fetch history until the base is found."),
    ] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """List the leaves changed since the base: added, modified, deleted, renamed (and why)."""
    from seedtree.project import open_project
    from seedtree.taxonomy.commands import run_diff

    project = open_project(repo_root, config)
    return run_diff(project, base=base, output_format=output_format.value, deepen=deepen)
