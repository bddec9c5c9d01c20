"""CLI: ``seedtree cache ...``: the generation cache."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app

cache_app = typer.Typer(
    name="cache",
    help="The store of teacher answers under $SEEDTREE_HOME.",
    no_args_is_help=True,
)


app.add_typer(cache_app, rich_help_panel="Data and models")


@cache_app.command("info")
def cache_info(repo_root: RepoOption = None, config: ConfigOption = None) -> int:
    """Where the answer store is, its size, and its entries per stage."""
    from seedtree.project import open_project
    from seedtree.versions.commands import run_cache_info

    return run_cache_info(open_project(repo_root, config))


@cache_app.command("gc")
def cache_gc(
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="Also keep answers for this leaf hash (repeatable)."),
    ] = None,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Drop answers that no current leaf and no released model (model/vN tag) needs, and
    fetched document repositories that no current leaf names."""
    from seedtree.project import open_project
    from seedtree.versions.commands import run_cache_gc

    return run_cache_gc(open_project(repo_root, config), keep or [])
