"""CLI: ``seedtree preview``: the generation preview of changed leaves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app

if TYPE_CHECKING:
    from seedtree.preview.precheck import CurrentModel
    from seedtree.project import Project


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
    from seedtree.preview.build import run_preview
    from seedtree.project import open_project

    project = open_project(repo_root, config)
    return run_preview(
        project, base=base, samples=samples, out=out, quiet=quiet, pull_request=pull_request,
        remote=remote, precheck_model=current_model(project) if precheck else None,
    )  # fmt: skip


def current_model(project: Project) -> CurrentModel:
    """The current release: served (``precheck.base_urls``) or loaded here from its folder
    (restored from the artifact store and checked when it is not here)."""
    from seedtree.errors import UsageError
    from seedtree.preview.precheck import local_model, served_model

    settings = project.config.precheck
    if settings.base_urls:
        return served_model(settings, project.config.teacher)
    from seedtree.retrain.chat import read_chat_settings
    from seedtree.retrain.release import current_release, local_artifacts

    release = current_release(project.repo_root)
    if release is None:
        raise UsageError(
            "--precheck: no model version released yet, so there is no current model",
            hint="set precheck.base_urls to a served model, or release v1 (`seedtree retrain`)",
        )
    folder = local_artifacts(project.repo_root, project.config.store, release)
    system = read_chat_settings(folder / "chat.json").system_prompt
    label = f"{release.version} ({release.commit[:12]})"
    return local_model(folder / "model", label, project.config.teacher, system)
