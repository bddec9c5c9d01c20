"""CLI: ``seedtree models ...`` (the model store) and ``seedtree serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import app

models_app = typer.Typer(
    help="The model store: the embedded default and local Hugging Face-format folders.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")


@models_app.command("fetch-default")
def fetch_default(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress note.")] = False,
) -> int:
    """Convert the embedded SmolLM2-135M-Instruct into the store (once; later runs reuse it)."""
    from seedtree.models import fetch_default_command

    return fetch_default_command(quiet=quiet)


@models_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> int:
    """Show the models in the store with their sizes and where each came from."""
    from seedtree.models import list_command

    return list_command(as_json=as_json)
