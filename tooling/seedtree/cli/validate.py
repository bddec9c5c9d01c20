"""CLI: ``seedtree validate``: check leaves."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


class _Format(StrEnum):
    auto = "auto"
    text = "text"
    github = "github"
    json = "json"


class _SchemaVersion(StrEnum):
    own = "own"
    latest = "latest"


@app.command(rich_help_panel="Contributing")
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Leaves, folders or taxonomies to validate (default: the taxonomy)."),
    ] = None,
    output_format: Annotated[
        _Format,
        typer.Option(
            "--format",
            help="text, github annotations, or json (auto: github under "
            "GitHub Actions, else text).",
        ),
    ] = _Format.auto,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    schema_version: Annotated[
        _SchemaVersion,
        typer.Option("--schema-version", help="Hold files to their own version or the latest."),
    ] = _SchemaVersion.own,
    changed: Annotated[
        bool,
        typer.Option("--changed", help="Only leaves changed since --base, at the latest version."),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Base git ref for --changed (default: the merge-base with the default branch).",
        ),
    ] = None,
    documents: Annotated[
        bool, typer.Option("--documents", help="Also resolve knowledge documents.")
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="Findings listed in this file are reported as known and do not fail "
            "(default: validate.baseline in seedtree.yaml).",
            dir_okay=False,
        ),
    ] = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option(
            "--write-baseline",
            help="Record every finding in this file as known (adopting seedtree), exit 0.",
            dir_okay=False,
        ),
    ] = None,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Validate qna.yaml leaves: exit 0 when clean, 1 on errors (or warnings with --strict)."""
    from seedtree.project import open_project
    from seedtree.validate.commands import Options, run_validate

    options = Options(
        paths=tuple(paths or ()),
        output_format=output_format.value,
        strict=strict,
        schema_version=schema_version.value,
        changed=changed or base is not None,
        base=base,
        documents=documents,
        baseline=baseline,
        write_baseline=write_baseline,
    )
    return run_validate(open_project(repo_root, config), options)
