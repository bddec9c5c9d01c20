"""CLI: ``seedtree comment``: one sticky pull-request comment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import app


@app.command("comment", rich_help_panel="Pull requests")
def comment(
    repo: Annotated[str, typer.Option("--repo", help="The repository, OWNER/NAME.")],
    body: Annotated[
        Path,
        typer.Option(
            "--body",
            help="Markdown to post, or preview.json (re-rendered and escaped here).",
            dir_okay=False,
        ),
    ],
    pr: Annotated[int | None, typer.Option("--pr", help="The pull request number.")] = None,
    commit: Annotated[
        str | None,
        typer.Option("--commit", help="Comment on the pull request that merged this commit."),
    ] = None,
    marker: Annotated[
        str, typer.Option("--marker", help="Which sticky comment: preview, retrain, ...")
    ] = "preview",
    head_sha: Annotated[
        str | None,
        typer.Option("--head-sha", help="Post only if the PR's head is still this commit."),
    ] = None,
    author: Annotated[
        str | None,
        typer.Option(
            "--author",
            help="Login the token posts as (default: asked from GitHub, else github-actions[bot]).",
        ),
    ] = None,
) -> int:
    """Create or update one sticky comment on a pull request (token: GITHUB_TOKEN)."""
    from seedtree.preview.commands import run_comment

    return run_comment(
        repo, body, pr=pr, commit=commit, marker=marker, author=author, head_sha=head_sha
    )
