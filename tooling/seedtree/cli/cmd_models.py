"""CLI: ``seedtree models ...`` (the model store) and ``seedtree serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app

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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8000,
    model: Annotated[
        str, typer.Option(help="'default' (embedded SmolLM2) or an HF-format model folder.")
    ] = "default",
    batch_size: Annotated[
        int | None, typer.Option(help="Rows decoded together (default: teacher.batch_size).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print the URL.")] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Serve a local model on an OpenAI-compatible HTTP API, batching concurrent requests."""
    from seedtree.config import with_overrides
    from seedtree.project import open_project
    from seedtree.serve import serve_command

    settings = with_overrides(
        open_project(repo_root, config).config, "teacher", batch_size=batch_size
    )
    return serve_command(
        host,
        port,
        model,
        batch_size=settings.teacher.batch_size,
        device=settings.teacher.device,
        quiet=quiet,
    )
