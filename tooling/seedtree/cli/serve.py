"""CLI: ``seedtree serve``: an OpenAI-compatible API over a local model."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command(rich_help_panel="Data and models")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8000,
    model: Annotated[
        str, typer.Option(help="'default' (embedded SmolLM2) or an HF-format model folder.")
    ] = "default",
    batch_size: Annotated[
        int | None, typer.Option(help="Rows decoded together (default: teacher.batch_size).")
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Name of an environment variable holding an API key that clients must send "
            "(Authorization: Bearer <key>).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Only print the URL (and, at the end, why it stopped)."),
    ] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Serve a local model on an OpenAI-compatible HTTP API, batching concurrent requests."""
    from seedtree.config import with_overrides
    from seedtree.project import open_project
    from seedtree.teacher.commands import run_serve

    settings = with_overrides(
        open_project(repo_root, config).config, "teacher", batch_size=batch_size
    )
    return run_serve(
        host,
        port,
        model,
        batch_size=settings.teacher.batch_size,
        device=settings.teacher.device,
        dtype=settings.teacher.dtype,
        quantize=settings.teacher.quantize,
        quiet=quiet,
        api_key_env=api_key_env,
    )
