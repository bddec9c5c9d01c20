"""``seedtree diff``: the changed leaves as text for people or JSON for workflows."""

from __future__ import annotations

from typing import Any, TextIO

from seedtree.taxonomy.changes import ChangedLeaves, subtrees

JSON_FORMAT_VERSION = 1


def as_json(changed: ChangedLeaves) -> dict[str, Any]:
    """The documented JSON value (see the README's ``diff`` section)."""
    return {
        "format": JSON_FORMAT_VERSION,
        "base_ref": changed.base_ref,
        "base_commit": changed.base_commit,
        "leaves": [
            {
                "id": leaf.id,
                "kind": leaf.kind,
                "renamed_from": leaf.renamed_from,
                "files": list(leaf.files),
            }
            for leaf in changed.leaves
        ],
        "subtrees": subtrees(changed),
    }


def render_text(changed: ChangedLeaves, out: TextIO) -> None:
    commit = f" ({changed.base_commit[:12]})" if changed.base_commit else ""
    out.write(f"comparing with {changed.base_ref}{commit}\n")
    for leaf in changed.leaves:
        label = f"renamed from {leaf.renamed_from}" if leaf.renamed_from else leaf.kind
        out.write(f"{leaf.id}: {label}\n")
        for file in leaf.files:
            out.write(f"    {file}\n")
    count = len(changed.leaves)
    out.write(f"{count} changed lea{'f' if count == 1 else 'ves'}\n")
