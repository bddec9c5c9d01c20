"""CLI: ``seedtree models ...``: the model store and the released versions."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app

models_app = typer.Typer(
    help="The model store (the embedded default, local Hugging Face-format folders) and the "
    "released versions (history, promote, rollback, pull).",
    no_args_is_help=True,
)


app.add_typer(models_app, name="models", rich_help_panel="Data and models")


@models_app.command("fetch-default")
def fetch_default(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress note.")] = False,
) -> int:
    """Convert the embedded SmolLM2-135M-Instruct into the store (once; later runs reuse it)."""
    from seedtree.versions.commands import run_models_fetch_default

    return run_models_fetch_default(quiet=quiet)


@models_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> int:
    """Show the models in the store with their sizes and where each came from."""
    from seedtree.versions.commands import run_models_list

    return run_models_list(as_json=as_json)


@models_app.command("history")
def history(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per version.")] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """List the released versions, newest first, and what changed between them."""
    from seedtree.project import open_project
    from seedtree.versions.commands import run_models_history

    return run_models_history(open_project(repo_root, config).repo_root, as_json)


@models_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="The version to make current, e.g. v2.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the tag).")] = "",
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Make a version current: chat and the next retrain start from it."""
    from seedtree.project import open_project
    from seedtree.versions.commands import run_models_promote

    project = open_project(repo_root, config)
    return run_models_promote(project.repo_root, version, reason, project.config.store)


@models_app.command("rollback")
def rollback(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the tag).")] = "",
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Make the version the current one was trained from current again."""
    from seedtree.project import open_project
    from seedtree.versions.commands import run_models_rollback

    project = open_project(repo_root, config)
    return run_models_rollback(project.repo_root, reason, project.config.store)


@models_app.command("pull")
def pull(
    version: Annotated[str, typer.Argument(help="The version to bring here, e.g. v2.")],
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Restore a released version from the artifact store (`store:` in seedtree.yaml)."""
    from seedtree.project import open_project
    from seedtree.versions.commands import run_models_pull

    project = open_project(repo_root, config)
    return run_models_pull(project.repo_root, project.config.store, version)
