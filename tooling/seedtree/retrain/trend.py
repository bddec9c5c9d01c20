"""The model-card scores across versions: every release's (``metrics.scores`` in its lineage) and
this run's, as a table of points and a PNG in the report.

A release records each score as ``[previous, new]``; the trend takes each version's new score,
and the first release's previous one as the base model's point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from seedtree import termsafe
from seedtree.versions.lineage import Release

BASE = "base"
Trend = dict[str, dict[str, float]]  # version (in order) -> score name -> value (fraction)


def _add(trend: Trend, version: str, first: bool, found: object) -> None:
    if not isinstance(found, Mapping) or not found:
        return
    if first:  # what the first release started from: the base model
        trend[BASE] = {str(k): float(v[0]) for k, v in found.items()}
    trend[version] = {str(k): float(v[1]) for k, v in found.items()}


def score_trend(
    known: Sequence[Release], version: str, scores: Mapping[str, Sequence[float]]
) -> Trend:
    """Each released version's card scores, oldest first, then ``version``'s (this run's)."""
    trend: Trend = {}
    earlier = [r for r in known if r.version != version]
    for release in earlier:
        found = release.lineage.metrics.get("scores")
        _add(trend, release.version, release.lineage.previous is None, found)
    _add(trend, version, not earlier, scores)
    return trend


def plot_trend(trend: Trend, out: Path) -> Path | None:
    """One line per score over the versions (None: fewer than two points to draw)."""
    names = sorted({name for scores in trend.values() for name in scores})
    if len(trend) < 2 or not names:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    versions = list(trend)
    fig, ax = plt.subplots(figsize=(3 + 0.8 * len(versions), 4))
    for name in names:
        points = [(x, trend[v][name] * 100) for x, v in enumerate(versions) if name in trend[v]]
        label = termsafe.text(name)[:40]  # task names come from the configuration
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_xticks(range(len(versions)), versions)
    ax.set_ylabel("score (%)")
    ax.set_title("Model-card scores across versions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
