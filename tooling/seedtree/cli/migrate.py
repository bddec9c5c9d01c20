"""CLI: ``seedtree migrate``: bring leaves to the latest schema version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, PathsArg, RepoOption, app, paths_or_root


@app.command("migrate", rich_help_panel="Contributing")
def migrate(
    paths: PathsArg = None,
    to: Annotated[int, typer.Option("--to", help="The schema version to migrate to.")] = 3,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Upgrade skills leaves to the latest version in place; list what knowledge leaves need."""
    from seedtree.authoring.commands import run_migrate
    from seedtree.project import find_repo_root

    root = find_repo_root(repo_root or Path.cwd())
    targets = paths_or_root(paths, repo_root, config)
    return run_migrate(targets, to=to, dry_run=dry_run, root=root)
