"""CLI: ``seedtree init``: add seedtree to an existing taxonomy repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import RepoOption, app


@app.command("init", rich_help_panel="Adopting")
def init(
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 and show what drifted.")
    ] = False,
    source: Annotated[
        Path | None,
        typer.Option(
            "--source",
            help="A seedtree checkout to pin (default: the one this seedtree runs from).",
            file_okay=False,
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Where workflows install seedtree from (default: origin)."),
    ] = None,
    rev: Annotated[
        str | None, typer.Option("--rev", help="The seedtree commit to pin (default: HEAD).")
    ] = None,
    repo_root: RepoOption = None,
) -> int:
    """Add seedtree to this taxonomy repository: config, hooks, workflows, locks, baseline."""
    from seedtree.adopt.commands import Options, run_init

    root = repo_root or Path.cwd()
    return run_init(Options(repo_root=root, source=source, url=url, rev=rev, check=check))
