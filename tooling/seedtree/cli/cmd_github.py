"""CLI: ``seedtree preview`` and ``seedtree comment`` (options only; the library does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command("comment")
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
    from seedtree.github import run_comment

    return run_comment(
        repo, body, pr=pr, commit=commit, marker=marker, author=author, head_sha=head_sha
    )


@app.command("preview")
def preview(
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Compare with the merge-base of this ref (default: origin/main, else main).",
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option("--samples", min=0, help="Samples to generate per changed leaf."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the markdown here (default: preview.md).", dir_okay=False
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Preview what the teacher makes of the changed leaves, as a markdown comment."""
    from seedtree.preview import run_preview
    from seedtree.project import open_project

    project = open_project(repo_root, config)
    return run_preview(project, base=base, samples=samples, out=out, quiet=quiet)
