"""CLI: ``seedtree diff`` (options only; the work is done by :mod:`seedtree.diff_report`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


class _Format(StrEnum):
    text = "text"
    json = "json"


@app.command()
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
    from seedtree.diff_report import run_diff
    from seedtree.project import open_project

    project = open_project(repo_root, config)
    return run_diff(project, base=base, output_format=output_format.value, deepen=deepen)
