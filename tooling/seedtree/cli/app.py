"""The Typer application object and the options every command shares.

Command modules in this package attach commands to :data:`app` (or to a sub-group) and do
nothing but parse options and call one library function that returns an exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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


def _version(value: bool) -> None:
    if value:
        from seedtree import __version__

        typer.echo(f"seedtree {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Validate, preview and train from a git taxonomy of LLM seed examples."""
