"""The Typer application object and the options every command shares.

Command modules in this package attach commands to :data:`app` (or to a sub-group) and do
nothing but parse options and call one library function that returns an exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree import __version__
from seedtree.project import open_project

app = typer.Typer(
    name="seedtree",
    help="Validate, preview and train from a git taxonomy of LLM seed examples.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file (default: seedtree.yaml at the repository root).",
        dir_okay=False,
    ),
]
RepoOption = Annotated[
    Path | None,
    typer.Option("--repo-root", "-C", help="Run as if started in this folder.", file_okay=False),
]


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Files or folders (default: the taxonomy root).", show_default=False),
]


def paths_or_root(
    paths: list[Path] | None, repo_root: Path | None, config: Path | None
) -> list[Path]:
    """The paths given, or the taxonomy root of the project when none are."""
    if paths:
        return paths
    return [open_project(repo_root, config).taxonomy_root]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seedtree {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Validate, preview and train from a git taxonomy of LLM seed examples."""
