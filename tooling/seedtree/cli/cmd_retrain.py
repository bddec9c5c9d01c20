"""CLI: ``seedtree retrain``, ``seedtree chat`` and ``seedtree models history|promote|rollback``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app
from seedtree.cli.cmd_models import models_app


@app.command()
def retrain(
    base_model: Annotated[
        str | None,
        typer.Option(
            "--base-model",
            help="Model v1 starts from ('default', a store name or an HF folder); a base "
            "different from the current version's retrains every leaf from it.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and its expected cost; do nothing.")
    ] = False,
    override_gate: Annotated[
        bool,
        typer.Option("--override-gate", help="Release even if the gate refuses (needs --reason)."),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the gate is overridden (recorded).")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Exit at once if another retrain is running.")
    ] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            help="Do not train: copy the report of the last run on HEAD into this folder.",
            file_okay=False,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars (CI logs).")
    ] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Retrain the current model on the leaves changed since it and release the next version."""
    from seedtree.errors import UsageError
    from seedtree.project import open_project
    from seedtree.retrain import Options, collect_report
    from seedtree.retrain import retrain as run

    project = open_project(repo_root, config)
    if report_dir is not None:
        return collect_report(project, report_dir)
    if override_gate != (reason is not None):
        raise UsageError("--override-gate and --reason go together: say why the gate is overridden")
    options = Options(
        base_model=base_model,
        dry_run=dry_run,
        override_reason=reason if override_gate else None,
        wait=not no_wait,
        quiet=quiet or project.config.retrain.quiet,
    )
    return run(project, options)


@app.command()
def chat(
    model: Annotated[
        str | None, typer.Option("--model", help="Version to talk to (default: the current one).")
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Answer this one prompt and exit (scripts).")
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Longest answer, in tokens.")] = 256,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Talk to a released model version with the template and system prompt it was trained with."""
    from seedtree.chat import chat_command
    from seedtree.project import open_project

    return chat_command(open_project(repo_root, config), model, prompt, max_tokens)


@models_app.command("history")
def history(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per version.")] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """List the released versions, newest first, and what changed between them."""
    from seedtree.project import open_project
    from seedtree.release import history_command

    return history_command(open_project(repo_root, config).repo_root, as_json)


@models_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="The version to make current, e.g. v2.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the tag).")] = "",
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Make a version current: chat and the next retrain start from it."""
    from seedtree.project import open_project
    from seedtree.release import promote_command

    return promote_command(open_project(repo_root, config).repo_root, version, reason)


@models_app.command("rollback")
def rollback(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the tag).")] = "",
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Make the version the current one was trained from current again."""
    from seedtree.project import open_project
    from seedtree.release import rollback_command

    return rollback_command(open_project(repo_root, config).repo_root, reason)
