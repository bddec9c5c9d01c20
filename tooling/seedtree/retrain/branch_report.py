"""The branch evaluation in the report: a table in the LAB model card's shape, one table per
leaf, and a plain sentence per merged leaf (the post-release pull-request comment)."""

from __future__ import annotations

from collections.abc import Sequence

from seedtree.evaluation.branch_results import Branch, Duel, LeafBranch, Scored
from seedtree.preview import mdsafe


def _pct(value: float) -> str:
    return f"{value * 100:.1f}"


def _pooled(leaves: Sequence[LeafBranch], field: str) -> tuple[float, float] | None:
    """Items-weighted mean of one score over the leaves, before and after."""
    found = [s for leaf in leaves if (s := getattr(leaf, field)) is not None]
    items = sum(s.items for s in found)
    if not items:
        return None
    before = sum(s.before * s.items for s in found) / items
    return before, sum(s.after * s.items for s in found) / items


def card_columns(branch: Branch | None) -> list[tuple[str, tuple[float, float]]]:
    """Each benchmark and branch evaluation with its previous and new score (fractions)."""
    if branch is None:
        return []
    columns = [(task, (s.before, s.after)) for task, s in sorted(branch.benchmarks.items())]
    leaves = list(branch.leaves.values())
    for name, field in (("branch MC accuracy", "accuracy"), ("branch judged grade", "grade")):
        pooled = _pooled(leaves, field)
        if pooled is not None:
            columns.append((name, pooled))
    return columns


def card_scores(branch: Branch | None) -> dict[str, list[float]]:
    """The card's columns for the lineage: name -> [previous, new]."""
    return {name: [round(a, 6), round(b, 6)] for name, (a, b) in card_columns(branch)}


def card_table(branch: Branch, previous: str, version: str) -> list[str]:
    """Rows: the previous and the new version; columns: each benchmark and branch evaluation."""
    columns = card_columns(branch)
    if not columns:
        return []
    header = ["model", *(str(mdsafe.text(name)) for name, _ in columns)]
    rows = [
        [mdsafe.text(previous), *(_pct(v[0]) for _, v in columns)],
        [mdsafe.text(version), *(_pct(v[1]) for _, v in columns)],
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _cell(scored: Scored | None) -> str:
    if scored is None:
        return "–"
    return f"{_pct(scored.before)} → {_pct(scored.after)} ({scored.change.points_text()})"


def _duel(duel: Duel | None) -> str:
    if duel is None:
        return "–"
    return f"{duel.wins} / {duel.ties} / {duel.losses} (net {duel.net.points_text()})"


def leaf_table(branch: Branch) -> list[str]:
    header = ["leaf", "MC items", "MC accuracy", "MC accuracy (length-normalised)"]
    header += ["judged grade", "wins / ties / losses"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for leaf, found in sorted(branch.leaves.items()):
        items = found.accuracy.items if found.accuracy else 0
        cells = [mdsafe.code_span(leaf), str(items), _cell(found.accuracy)]
        cells += [_cell(found.accuracy_norm), _cell(found.grade), _duel(found.duel)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def benchmark_table(branch: Branch) -> list[str]:
    lines = ["| task | items | score before → after (change, points) |", "|---|---|---|"]
    for task, scored in sorted(branch.benchmarks.items()):
        lines.append(f"| {mdsafe.text(task)} | {scored.items} | {_cell(scored)} |")
    return lines


def plain_words(leaf: str, found: LeafBranch | None) -> str:
    """Whether the new model answers the leaf's questions better, in a sentence."""
    name = mdsafe.code_span(leaf)
    gains = found.gains() if found is not None else {}
    if not gains:
        return f"- {name}: no questions to measure it on"
    better = [n for n, c in gains.items() if c.low > 0]
    worse = [n for n, c in gains.items() if c.high < 0]
    shown = "; ".join(f"{n} {c.points_words()}" for n, c in sorted(gains.items()))
    if better and not worse:
        verdict = "the new model answers its questions better"
    elif worse and not better:
        verdict = "the new model answers its questions worse"
    else:
        verdict = "no clear difference in how the new model answers its questions"
    return f"- {name}: {verdict} ({shown})"


def branch_section(branch: Branch | None, previous: str, version: str) -> list[str]:
    """The report's section: the card table, the per-leaf table, the benchmarks, the notes."""
    if branch is None:
        return []
    lines = ["## Did it learn, did it keep (previous model against the new one)", ""]
    card = card_table(branch, previous, version)
    lines += [*card, ""] if card else []
    lines += ["### Per leaf: multiple choice and judged answers", "", *leaf_table(branch)]
    if branch.benchmarks:
        lines += ["", "### General benchmarks, paired per item", "", *benchmark_table(branch)]
    notes = [str(mdsafe.text(note)) for note in branch.notes]
    notes.append(f"branch evaluation: {branch.seconds:.1f} s, {branch.teacher_calls} teacher calls")
    return [*lines, "", *(f"- {note}" for note in notes)]


def merged_lines(branch: Branch | None, trained: Sequence[str]) -> list[str]:
    """For the pull-request comment: one plain sentence per merged leaf."""
    if branch is None or not trained:
        return []
    return [plain_words(leaf, branch.leaves.get(leaf)) for leaf in sorted(trained)]
