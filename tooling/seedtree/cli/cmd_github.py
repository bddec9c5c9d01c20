"""CLI: ``seedtree preview`` and ``seedtree comment`` (options only; the library does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import app


@app.command("comment")
def comment(
    repo: Annotated[str, typer.Option("--repo", help="The repository, OWNER/NAME.")],
    pr: Annotated[int, typer.Option("--pr", help="The pull request number.")],
    body: Annotated[
        Path,
        typer.Option("--body", help="Markdown file to post (e.g. preview.md).", dir_okay=False),
    ],
    author: Annotated[
        str | None,
        typer.Option(
            "--author",
            help="Login the token posts as (default: asked from GitHub, else github-actions[bot]).",
        ),
    ] = None,
) -> int:
    """Create or update the one preview comment on a pull request (token: GITHUB_TOKEN)."""
    from seedtree.github import run_comment

    return run_comment(repo, pr, body, author=author)
