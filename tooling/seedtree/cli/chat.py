"""CLI: ``seedtree chat``: talk to a released version."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command(rich_help_panel="Data and models")
def chat(
    model: Annotated[
        str | None, typer.Option("--model", help="Version to talk to (default: the current one).")
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Answer this one prompt and exit (scripts).")
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Longest answer, in tokens.")] = 256,
    temperature: Annotated[
        float | None, typer.Option(help="Sample at this temperature instead of greedy decoding.")
    ] = None,
    top_p: Annotated[
        float | None, typer.Option("--top-p", help="Sample from this probability mass.")
    ] = None,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Talk to a released model version with the template and system prompt it was trained with."""
    from seedtree.project import open_project
    from seedtree.versions.commands import run_chat

    overrides = {"temperature": temperature, "top_p": top_p}
    return run_chat(open_project(repo_root, config), model, prompt, max_tokens, overrides)
