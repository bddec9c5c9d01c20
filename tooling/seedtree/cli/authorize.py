"""CLI: ``seedtree authorize``: may this GitHub user trigger the production preview?"""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import app


@app.command("authorize", rich_help_panel="Pull requests")
def authorize(
    repo: Annotated[str, typer.Option("--repo", help="The repository, OWNER/NAME.")],
    user: Annotated[str, typer.Option("--user", help="The GitHub login that asked.")],
) -> int:
    """Exit 0 when USER has write access to the repository (asked of GitHub's API), else 1."""
    from seedtree.preview.commands import run_authorize

    return run_authorize(repo, user)
