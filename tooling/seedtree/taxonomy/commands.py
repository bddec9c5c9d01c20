"""The body of ``seedtree diff``: the leaves changed since a base, as text or JSON."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from seedtree.errors import EXIT_OK
from seedtree.project import Project
from seedtree.taxonomy.changes import changed_leaves
from seedtree.taxonomy.diff_report import as_json, render_text


def run_diff(
    project: Project,
    *,
    base: str | None,
    output_format: str = "text",
    deepen: bool = False,
    out: TextIO | None = None,
) -> int:
    """Print the leaves changed since ``base``; exit 0 (errors raise :class:`GitError`)."""
    out = out or sys.stdout
    changed = changed_leaves(project.repo_root, project.taxonomy_root, base, deepen=deepen)
    if output_format == "json":
        out.write(json.dumps(as_json(changed), indent=2) + "\n")
    else:
        render_text(changed, out)
    return EXIT_OK
