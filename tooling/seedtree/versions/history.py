"""``seedtree models history``: every version, what changed since the one it came from, and the
moves of the current pointer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from seedtree import termsafe
from seedtree.home import RepoHome
from seedtree.versions.lineage import Lineage, Release
from seedtree.versions.tags import current_release, pointer_moves, releases


@dataclass(frozen=True)
class Changes:
    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]
    renamed: dict[str, str]


def changes(release: Release, previous: Release | None) -> Changes:
    """What ``release`` changed relative to the version it was trained from."""
    before = previous.lineage.leaves if previous is not None else {}
    trained = release.lineage.trained
    return Changes(
        added=tuple(sorted(leaf for leaf in trained if leaf not in before)),
        modified=tuple(sorted(leaf for leaf in trained if leaf in before)),
        removed=tuple(sorted(release.lineage.removed)),
        renamed=dict(sorted(release.lineage.renamed.items())),
    )


def _gate_line(lineage: Lineage) -> str:
    gate = lineage.gate
    learned = sum(gate.learned.values()) / len(gate.learned) if gate.learned else None
    forgot = max(gate.forgotten.values()) if gate.forgotten else None
    parts = ["gate passed" if gate.passed else "gate REFUSED"]
    if learned is not None:
        parts.append(f"loss of trained leaves {-learned:+.1%}")
    if forgot is not None:
        parts.append(f"worst forgetting {forgot:+.1%}")
    text = ", ".join(parts)
    if lineage.override is not None:
        o = lineage.override
        text += f"; released by override of {o.who} ({o.at}): {o.why}"
    return text


def checkpoint_line(lineage: Lineage) -> str | None:
    """Which candidate of the last phase was released, and why (None: it saved one)."""
    chosen = lineage.metrics.get("checkpoint")
    if not isinstance(chosen, dict):
        return None
    steps = ", ".join(str(s) for s in chosen.get("steps") or ())
    return (
        f"released the checkpoint after step {chosen.get('step')} (of {steps}): {chosen.get('why')}"
    )


def _change_lines(found: Changes) -> list[str]:
    lines = [f"+ {leaf}" for leaf in found.added]
    lines += [f"~ {leaf}" for leaf in found.modified]
    lines += [f"- {leaf}" for leaf in found.removed]
    lines += [f"> {old} -> {new}" for old, new in found.renamed.items()]
    return lines or ["(no leaf changed)"]


def score_table(known: list[Release]) -> list[str]:
    """The report's model-card columns for every version (``metrics.scores``), oldest first;
    a version's previous scores give the row of what it started from when that is no version."""
    scored = [(r, r.lineage.metrics.get("scores") or {}) for r in known]
    names = sorted({name for _, scores in scored for name in scores})
    if not names:
        return []
    lines = ["scores (%):", "  " + " | ".join(["version", *names])]
    for release, scores in scored:
        if release.lineage.previous is None and scores:
            row = [f"{scores[n][0] * 100:.1f}" if n in scores else "-" for n in names]
            lines.append("  " + " | ".join([release.lineage.base_model, *row]))
        row = [f"{scores[n][1] * 100:.1f}" if n in scores else "-" for n in names]
        lines.append("  " + " | ".join([release.version, *row]))
    return lines


def print_history(repo_root: Path, as_json: bool = False) -> int:
    """Print every version, newest first, with what changed since the one it came from."""
    known = releases(repo_root)
    by_version = {r.version: r for r in known}
    current = current_release(repo_root)
    if not known:
        print("no model version yet: `seedtree retrain` releases v1")
        return 0
    for release in reversed(known):
        lineage = release.lineage
        found = changes(release, by_version.get(lineage.previous or ""))
        is_current = current is not None and current.number == release.number
        if as_json:
            row = {
                "version": release.version,
                "tag": release.tag,
                "current": is_current,
                "changes": found.__dict__,
                "artifacts": str(RepoHome.of(repo_root).version(release.version)),
                "lineage": lineage.model_dump(mode="json"),
            }
            print(json.dumps(row, sort_keys=True))
            continue
        mark = "  (current)" if is_current else ""
        print(f"{release.version}  {release.commit[:12]}  {lineage.created_at}{mark}")
        print(f"    from {lineage.previous or lineage.base_model}; {_gate_line(lineage)}")
        chosen = checkpoint_line(lineage)
        if chosen is not None:
            print(f"    {chosen}")
        for line in _change_lines(found):  # they name leaves
            print(f"    {termsafe.text(line)}")
    for line in score_table(known):  # benchmark task names come from the configuration
        print(termsafe.text(line))
    for move in pointer_moves(repo_root):
        said = f"{move.action} to {move.version} by {move.who} at {move.at}: {move.why}"
        print(termsafe.text(said))
    return 0
