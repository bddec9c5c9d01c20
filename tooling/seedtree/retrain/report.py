"""The retrain report: markdown (plan, funnel per leaf, training, held-out loss, forgetting
matrix, gate decision, benchmarks, timings) with PNG plots, and a short summary for a PR comment.

Written into one folder::

    report.md          the full report (plots linked relatively, from plots/)
    summary.md         version, decision and headline figures (the merged PR's comment)
    plots/heldout.png  held-out loss per leaf, previous model against the new one
    plots/loss.png     training loss per step (when something was trained)
    plots/forgetting.png  held-out loss per leaf after each phase of this run
    plots/trend.png    the model-card scores of every version up to this one
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedtree import termsafe
from seedtree.atomic import write_text
from seedtree.evaluation.evidence import BOTH, HELDOUT, SEEDS, Evaluation
from seedtree.preview import mdsafe
from seedtree.retrain.branch_report import branch_section, merged_lines
from seedtree.retrain.results import Generation, Prepared, Training
from seedtree.retrain.state import Plan
from seedtree.retrain.trend import plot_trend
from seedtree.versions.lineage import GateDecision, LeafChange, Override


@dataclass(frozen=True)
class ReportInput:
    """The plan of one run and its steps' results, as the journal records them."""

    version: str
    plan: Plan
    generation: Generation
    prepared: Prepared
    training: Training
    evaluation: Evaluation
    decision: GateDecision
    override: Override | None
    seconds: Mapping[str, float]
    # the model-card scores of every version up to this one (seedtree.retrain.trend)
    trend: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "–" if value is None else format(value, spec)


def _negated(value: float | None) -> float | None:
    return None if value is None else -value


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def decision_line(data: ReportInput) -> str:
    override = data.override
    if data.decision.passed:
        return f"**Released {data.version}**: the gate passed."
    if override:
        return (
            f"**Released {data.version} by override**: the gate refused, "
            f"{override.who} released it anyway ({override.at}): {override.why}"
        )
    previous = data.plan.previous or "the base model"
    return f"**Refused {data.version}**: the gate failed; {previous} stays current."


def _plan_section(data: ReportInput) -> list[str]:
    plan = data.plan
    rows: list[list[Any]] = [[_leaf(leaf), kind] for leaf, kind in plan.generate.items()]
    rows += [[_leaf(leaf), "deleted: dropped from data and replay"] for leaf in plan.removed]
    renamed = plan.renamed.items()
    rows += [[_leaf(new), f"renamed from {_leaf(old)}: data kept"] for old, new in renamed]
    rows += [[_leaf(leaf), "unchanged: replayed"] for leaf in plan.unchanged]
    skipped = plan.skipped.items()
    rows += [[_leaf(leaf), f"skipped: {mdsafe.text(why)}"] for leaf, why in skipped]
    start = plan.previous or f"base model {mdsafe.code_span(plan.base_model)}"
    return [
        "## Plan",
        "",
        f"Taxonomy commit `{plan.commit}`, trained from {start}.",
        "",
        *_table(["leaf", "change"], rows),
    ]


def _funnel_section(data: ReportInput) -> list[str]:
    leaves = data.generation.leaves
    lines = ["## Generation", "", f"Teacher calls: {data.generation.teacher_calls}."]
    if not leaves:
        return [*lines, "", "Nothing was generated in this run."]
    for leaf, info in leaves.items():
        lines += ["", f"### {_leaf(leaf)}: {info.samples} samples accepted", ""]
        rows = [
            [k, _compact(v)] for k, v in info.funnel.items() if v is not None and k != "sources"
        ]
        sources = info.funnel.get("sources") or {}
        rows += [[f"source {k}", _compact(v)] for k, v in dict(sources).items()]  # type: ignore[arg-type]
        lines += _table(["stage", "value"], rows)
    return lines


def _compact(value: Any) -> str:
    """A funnel or benchmark figure (it may quote the teacher): one escaped line."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return mdsafe.inline(text, limit=200)


def _leaf(leaf: str) -> str:
    """A leaf's name (a folder a contributor chose) as inline code, never Markdown: in a table
    cell, a heading or a sentence alike (a table splits cells even inside code, unless escaped)."""
    return mdsafe.code_span(leaf, limit=200).replace("|", "\\|")


def _training_section(data: ReportInput, plots: Mapping[str, str]) -> list[str]:
    training = data.training
    lines = ["## Training", ""]
    if not training.trained:
        return [*lines, "No new data: the weights are those of the previous model."]
    rows = [
        [p.name, p.new_samples, p.replay_samples, p.general_samples, p.steps]
        for p in training.phases
    ]
    header = ["phase", "new samples", "replayed samples", "general samples", "optimizer steps"]
    lines += _table(header, rows)
    if "loss" in plots:
        lines += ["", f"![training loss]({plots['loss']})"]
    return lines


def _checkpoint_section(data: ReportInput) -> list[str]:
    """Which candidate of the last phase was released, and why: a row per candidate."""
    choice = data.training.choice
    if choice is None:
        return []
    rows = [
        [
            c.step,
            "**released**" if n == choice.chosen else "",
            "–" if c.accuracy is None else f"{c.accuracy:.1%} ({c.items})",
            _fmt(c.loss),
        ]
        for n, c in enumerate(choice.candidates)
    ]
    header = ["step of the last phase", "", "seed MC accuracy (items)", "held-out loss"]
    chosen = choice.candidates[choice.chosen]
    return [
        "## Checkpoint: the best candidate of the last phase",
        "",
        f"Released the model after step {chosen.step}: {choice.why}.",
        "",
        *_table(header, rows),
    ]


def _trend_section(data: ReportInput, plots: Mapping[str, str]) -> list[str]:
    """The model-card scores of every version up to this one, drawn."""
    if "trend" not in plots:
        return []
    versions = ", ".join(str(mdsafe.text(v)) for v in data.trend)
    return [
        "## Scores across versions",
        "",
        f"The model-card scores (%) of {versions}: each release's, as its lineage records them, "
        "and this run's.",
        "",
        f"![scores across versions]({plots['trend']})",
    ]


def _change(change: LeafChange | None, name: str) -> str:
    if change is None or name not in change.change:
        return "–"
    return f"{change.change[name].text()} ({change.items[name]})"


def _verdict(leaf: str, trained: bool, decision: GateDecision) -> str:
    change = decision.changes.get(leaf)
    if change is None:
        return "not measured"
    rise = change.change[BOTH]
    if trained:
        return "learned" if rise.high < 0 else "no clear drop"
    if rise.low > decision.max_forgetting:
        return "**forgot**"
    return "kept" if rise.high <= decision.max_forgetting else "kept (interval too wide to tell)"


def _loss_section(data: ReportInput, plots: Mapping[str, str]) -> list[str]:
    trained = set(data.plan.generate)
    decision = data.decision
    rows = [
        [
            _leaf(leaf),
            "trained now" if leaf in trained else "earlier",
            *(_change(decision.changes.get(leaf), name) for name in (HELDOUT, SEEDS, BOTH)),
            _verdict(leaf, leaf in trained, decision),
        ]
        for leaf in sorted(data.evaluation.leaves)
    ]
    confidence = f"{decision.confidence or 0.9:.0%}"
    lines = [
        "## Loss per leaf: previous model against the new one",
        "",
        "Relative change of the mean loss per answer token (negative: the new model is better), "
        f"with its {confidence} paired-bootstrap interval and the number of items, on the "
        "held-out generated samples, on the leaf's own seed Q&A (never trained on), and on both "
        "(what the gate decides on).",
        "",
    ]
    header = ["leaf", "role", "held-out", "seeds", "both", "verdict"]
    lines += _table(header, rows)
    if "heldout" in plots:
        lines += ["", f"![loss per leaf]({plots['heldout']})"]
    return lines


def _answers_section(data: ReportInput) -> list[str]:
    answers = data.evaluation.answers
    if not answers:
        return []
    lines = ["## Answers side by side", ""]
    for leaf, found in sorted(answers.items()):
        example = found.example
        lines += [f"### {_leaf(leaf)}", "", f"**Seed question:** {_quote(example.question)}", ""]
        lines += _table(
            ["", "answer"],
            [
                ["seed answer", _quote(example.reference)],
                ["previous model", _quote(example.before)],
                [data.version, _quote(example.after)],
            ],
        )
        if found.scores is not None:
            sc = found.scores
            lines += [
                "",
                f"ROUGE-L recall of the seed answers over its {sc.questions} seed questions: "
                f"{sc.rouge_before:.3f} before, {sc.rouge_after:.3f} after.",
            ]
            if words := sc.gives_words():
                lines.append(words)
            if sc.judge_before is not None and sc.judge_after is not None:
                lines.append(
                    f"Teacher's faithfulness judge, mean P(yes): {sc.judge_before:.3f} before, "
                    f"{sc.judge_after:.3f} after."
                )
        lines.append("")
    return lines


def _quote(value: str) -> str:
    """Seed and model text (untrusted): one line, every Markdown and HTML character escaped."""
    return mdsafe.text(value, limit=400) if value.strip() else "*(empty)*"


def _matrix_section(data: ReportInput, plots: Mapping[str, str]) -> list[str]:
    path = data.training.eval
    if not path or not Path(path).is_file():
        return []
    matrix = json.loads(Path(path).read_text(encoding="utf-8"))
    leaves = matrix.get("leaves", [])
    rows = [
        [phase, *(_fmt(matrix["heldout_loss"].get(phase, {}).get(leaf)) for leaf in leaves)]
        for phase in matrix.get("phases", [])
    ]
    lines = ["## Forgetting matrix (held-out loss after each phase)", ""]
    lines += _table(["phase", *(_leaf(leaf) for leaf in leaves)], rows)
    seeds = matrix.get("seed_loglik", {})
    seeded = sorted({leaf for scores in seeds.values() for leaf in scores})
    if seeded:  # every leaf has seeds, even one with too few samples to hold any out
        lines += ["", "Loss on each leaf's seed Q&A (never trained on) after each phase:", ""]
        loss = [
            [phase, *(_fmt(_negated(seeds.get(phase, {}).get(leaf))) for leaf in seeded)]
            for phase in matrix.get("phases", [])
        ]
        lines += _table(["phase", *(_leaf(leaf) for leaf in seeded)], loss)
    bwt = matrix.get("backward_transfer")
    lines += ["", f"Backward transfer: {_fmt(bwt)} (negative means forgetting)."]
    if "forgetting" in plots:
        lines += ["", f"![forgetting matrix]({plots['forgetting']})"]
    return lines


def _gate_section(data: ReportInput) -> list[str]:
    decision = data.decision
    confidence = f"{decision.confidence or 0.9:.0%}"
    learning = decision.learning.negated().change_words() if decision.learning else "–"
    lines = [
        "## Gate",
        "",
        decision_line(data),
        "",
        f"- learned: the loss of the changed leaves {learning} on average (relative change); it "
        f"must fall by at least {decision.min_learning:.2%}, with the whole {confidence} "
        "interval below 0",
        f"- forgotten: an earlier leaf whose loss rise exceeds {decision.max_forgetting:.2%} "
        "even at the lower bound of its interval",
    ]
    for reason in decision.reasons:  # they name leaves
        lines.append(f"- refused: {mdsafe.inline(reason, limit=600)}")
    for criterion in decision.undecided:
        lines.append(f"- not decided: {mdsafe.inline(criterion, limit=600)}")
    return lines


def _benchmark_section(data: ReportInput) -> list[str]:
    bench = data.evaluation.benchmarks
    lines = ["## Benchmarks", ""]
    if "skipped" in bench or "failed" in bench:
        return [*lines, mdsafe.inline(bench.get("skipped") or bench.get("failed"), limit=600)]
    rows = [[task, _compact(values)] for task, values in bench.items()]
    return [*lines, *_table(["task", "scores"], rows)]


def _timing_section(data: ReportInput) -> list[str]:
    rows = [[step, f"{seconds:.1f} s"] for step, seconds in data.seconds.items()]
    if data.evaluation.answers:
        rows.append(
            ["(of evaluate: answers side by side)", f"{data.evaluation.answer_seconds:.1f} s"]
        )
    return ["## Time per step", "", *_table(["step", "time"], rows)]


def headline(data: ReportInput) -> list[str]:
    decision = data.decision
    learning = decision.learning.negated().change_words() if decision.learning else "–"
    earlier = {leaf: decision.changes[leaf].change[BOTH] for leaf in decision.forgotten}
    worst = max(earlier, key=lambda leaf: earlier[leaf].value, default=None)
    forgot = f"{_leaf(worst)}, whose loss {earlier[worst].change_words()}" if worst else "–"
    samples = sum(v.samples for v in data.generation.leaves.values())
    plan = data.plan
    replayed = len(data.prepared.replay_leaves)
    return [
        f"- leaves trained: {len(plan.generate)}, removed: {len(plan.removed)}, "
        f"renamed: {len(plan.renamed)}, replayed from earlier versions: {replayed}",
        f"- samples generated: {samples} ({data.generation.teacher_calls} teacher calls)",
        f"- loss of the trained leaves: {learning}; least kept earlier leaf: {forgot}",
        *skipped_lines(plan.skipped),
    ]


def skipped_lines(skipped: Mapping[str, str]) -> list[str]:
    """One line per leaf left out of this run, with why (kept at its previous data, if any)."""
    return [f"- **not trained** {_leaf(leaf)}: {mdsafe.text(why)}" for leaf, why in skipped.items()]


def write_skipped_note(plan: Mapping[str, Any], out_dir: Path) -> Path:
    """report.md and summary.md of a run that trains nothing because every change was skipped."""
    lines = [
        f"### seedtree retrain: nothing released on `{str(plan['commit'])[:12]}`",
        "",
        "Every changed leaf was left out of this run; the current model stays.",
        "",
        *skipped_lines(plan.get("skipped", {})),
    ]
    text = "\n".join(lines) + "\n"
    write_text(out_dir / "summary.md", text)
    write_text(out_dir / "report.md", text)
    return (out_dir / "report.md").resolve()


def _plot_heldout(data: ReportInput, out: Path) -> Path | None:
    before, after = data.evaluation.means("before"), data.evaluation.means("after")
    leaves = sorted(set(before) & set(after))
    if not leaves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2 + 1.2 * len(leaves), 4))
    xs = range(len(leaves))
    ax.bar([x - 0.2 for x in xs], [before[leaf] for leaf in leaves], 0.4, label="previous")
    ax.bar([x + 0.2 for x in xs], [after[leaf] for leaf in leaves], 0.4, label=data.version)
    names = [termsafe.text(leaf.rsplit("/", 1)[-1])[:40] for leaf in leaves]
    ax.set_xticks(list(xs), names, rotation=30)
    ax.set_ylabel("mean item loss, held-out and seeds (lower is better)")
    ax.set_title(f"Loss per leaf: previous model vs {data.version}")
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _plots(data: ReportInput, out_dir: Path) -> dict[str, str]:
    plots: dict[str, str] = {}
    folder = out_dir / "plots"
    if _plot_heldout(data, folder / "heldout.png") is not None:
        plots["heldout"] = "plots/heldout.png"
    if plot_trend({k: dict(v) for k, v in data.trend.items()}, folder / "trend.png"):
        plots["trend"] = "plots/trend.png"
    for source in data.training.plots:
        path = Path(source)
        if path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, folder / path.name)
            plots[path.stem] = f"plots/{path.name}"
    return plots


def _previous(data: ReportInput) -> str:
    return data.plan.previous or f"base ({data.plan.base_model})"


def write_report(data: ReportInput, out_dir: Path) -> Path:
    """Write report.md, summary.md and the plots into ``out_dir``; return report.md's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = _plots(data, out_dir)
    title = f"# Retrain report: {data.version} (commit `{data.plan.commit[:12]}`)"
    sections = [
        [title, "", decision_line(data), "", *headline(data)],
        _plan_section(data),
        _funnel_section(data),
        _training_section(data, plots),
        _checkpoint_section(data),
        _loss_section(data, plots),
        branch_section(data.evaluation.branch, _previous(data), data.version),
        _trend_section(data, plots),
        _answers_section(data),
        _matrix_section(data, plots),
        _gate_section(data),
        _benchmark_section(data),
        _timing_section(data),
    ]
    report = out_dir / "report.md"
    write_text(report, "\n\n".join("\n".join(s) for s in sections if s) + "\n")
    summary = [
        f"### seedtree retrain: {data.version}",
        "",
        decision_line(data),
        "",
        *headline(data),
        *merged_lines(data.evaluation.branch, list(data.plan.generate)),
    ]
    write_text(out_dir / "summary.md", "\n".join(summary) + "\n")
    return report.resolve()


def plot_paths(report: Path) -> list[Path]:
    """The PNG files beside a report (absolute)."""
    return sorted(p.resolve() for p in (report.parent / "plots").glob("*.png"))
