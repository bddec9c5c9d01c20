"""CLI: ``seedtree preview``: the generation preview of changed leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command("preview", rich_help_panel="Pull requests")
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
    pull_request: Annotated[
        int | None,
        typer.Option(
            "--pull-request",
            min=1,
            help="Preview this pull request read from its git objects (refs/pull/N/head), with "
            "this checkout's seedtree and configuration: the production preview.",
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option("--remote", help="Where --pull-request is fetched from (default: origin)."),
    ] = None,
    remote_token_env: Annotated[
        str | None,
        typer.Option(
            "--remote-token-env",
            metavar="NAME",
            help="Read a private --pull-request remote with the token in this environment "
            "variable (sent to the remote's https origin only, through git's environment).",
        ),
    ] = None,
    precheck: Annotated[
        bool,
        typer.Option(
            "--precheck",
            help="The current released model answers each changed leaf's seed questions.",
        ),
    ] = False,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Preview what the teacher makes of the changed leaves, as a markdown comment."""
    from seedtree.preview.commands import run_preview
    from seedtree.project import open_project

    project = open_project(repo_root, config)
    return run_preview(
        project, base=base, samples=samples, out=out, quiet=quiet, pull_request=pull_request,
        remote=remote, remote_token_env=remote_token_env, precheck=precheck,
    )  # fmt: skip
