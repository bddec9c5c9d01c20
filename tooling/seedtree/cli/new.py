"""CLI: ``seedtree new``: scaffold a leaf."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


class LeafTypeArg(StrEnum):
    knowledge = "knowledge"
    skill = "skill"
    grounded_skill = "grounded-skill"


@app.command("new", rich_help_panel="Contributing")
def new(
    leaf_type: Annotated[LeafTypeArg, typer.Argument(help="The kind of leaf to create.")],
    path: Annotated[
        Path,
        typer.Argument(
            help="The leaf folder; relative to the taxonomy root when it starts with "
            "knowledge/ or compositional_skills/.",
        ),
    ],
    from_document: Annotated[
        Path | None,
        typer.Option(
            "--from-document",
            help="A text or markdown document: knowledge copies it into the leaf and references "
            "it; knowledge and grounded skills take their contexts from its paragraphs.",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    config: ConfigOption = None,
    repo_root: RepoOption = None,
) -> int:
    """Create a leaf folder with a commented qna.yaml (latest schema) and attribution.txt."""
    from seedtree.authoring.commands import run_new
    from seedtree.project import open_project

    return run_new(
        leaf_type.value, path, open_project(repo_root, config), from_document=from_document
    )
