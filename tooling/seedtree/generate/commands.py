"""``seedtree generate``: choose leaves, run, print the funnel."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seedtree.errors import EXIT_OK, UsageError
from seedtree.generate.run import GenerationReport, LeafEstimate, estimate, generate_leaves
from seedtree.project import Project
from seedtree.taxonomy.changes import changed_leaves, subtrees
from seedtree.taxonomy.leaves import QNA, Leaf, load_leaf, load_taxonomy, qna_files_under
from seedtree.teacher import create_teacher
from seedtree.termsafe import markup


def _leaves_under(project: Project, path: Path) -> list[Path]:
    path = path.resolve()
    if path.is_file() and path.name == QNA:
        return [path]
    if path.is_dir():
        root = project.taxonomy_root.resolve()
        depth = len(path.relative_to(root).parts) if path.is_relative_to(root) else 0
        return qna_files_under(path, depth)
    raise UsageError(f"{path}: no such leaf folder or qna.yaml")


def select_leaves(
    project: Project, paths: Sequence[Path], changed: bool, base: str | None
) -> list[Leaf]:
    """Leaves named by ``paths`` (folders or qna.yaml), changed since ``base``, or all."""
    root = project.taxonomy_root
    if changed:
        if paths:
            raise UsageError("give PATHS or --changed, not both")

        ids = subtrees(changed_leaves(project.repo_root, root, base))
        return [load_leaf(root / leaf_id / QNA, root) for leaf_id in ids]
    if not paths:
        return load_taxonomy(root)
    files = sorted({f for p in paths for f in _leaves_under(project, p)})
    if not files:
        raise UsageError(f"no {QNA} under {', '.join(str(p) for p in paths)}")
    return [load_leaf(f, root) for f in files]


def run_generate(
    project: Project,
    *,
    paths: Sequence[Path],
    changed: bool,
    base: str | None,
    samples: int | None,
    out_dir: Path | None,
    dry_run: bool,
    quiet: bool,
) -> int:
    config = project.config.generate
    leaves = select_leaves(project, paths, changed, base)
    if not leaves:
        print("generate: no leaf to generate")
        return EXIT_OK
    if dry_run:
        costs = estimate(leaves, config, repo_root=project.repo_root, samples=samples)
        _print_estimate(costs)
        return EXIT_OK

    teacher = create_teacher(project.config.teacher)
    try:
        report = generate_leaves(
            leaves,
            teacher,
            repo_root=project.repo_root,
            config=config,
            samples=samples,
            out_dir=out_dir,
            quiet=quiet,
            documents=project.config.documents,
        )
    finally:
        teacher.close()
    print_report(report, quiet)
    return EXIT_OK


def _console() -> object:
    import sys

    from rich.console import Console

    # logs and pipes get full lines (leaf ids unbroken); a terminal gets its own width
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _print_estimate(costs: dict[str, LeafEstimate]) -> None:
    from rich.table import Table

    table = Table(title="expected teacher cost (min: every candidate passes; max: attempt cap)")
    table.add_column("leaf", overflow="fold")
    for column in ("samples", "chunks", "knowledge samples", "augment calls", "calls", "tokens"):
        table.add_column(column, justify="right")
    for leaf_id, c in costs.items():
        table.add_row(
            markup(leaf_id),
            str(c.samples),
            str(c.chunks),
            f"≤{c.extra_samples}" if c.extra_samples else "-",
            str(c.augment_calls) if c.augment_calls else "-",
            f"{c.calls_min}–{c.calls_max}",
            f"{c.tokens_min:,}–{c.tokens_max:,}",
        )
    calls = (sum(c.calls_min for c in costs.values()), sum(c.calls_max for c in costs.values()))
    tokens = (sum(c.tokens_min for c in costs.values()), sum(c.tokens_max for c in costs.values()))
    table.add_row("total", "", "", "", "", f"{calls[0]}–{calls[1]}", f"{tokens[0]:,}–{tokens[1]:,}")
    _console().print(table)  # type: ignore[attr-defined]


def print_report(report: GenerationReport, quiet: bool = False) -> None:
    """The funnel of every leaf, then where the data went."""
    from rich.table import Table

    table = Table(title=f"generation funnel (teacher {report.teacher})")
    columns = ("leaf", "accepted", "attempts", "teacher calls", "stored", "parse fail", "dups")
    table.add_column("leaf", overflow="fold")
    for column in columns[1:]:
        table.add_column(column, justify="right")
    table.add_column("top rejections", overflow="fold")
    for leaf_id, result in report.leaves.items():
        f = result.funnel
        reasons = ", ".join(f"{r} ({n})" for r, n in f.top_rejections(3)) or "-"
        table.add_row(
            markup(leaf_id),
            f"{f.accepted}/{f.wanted}",
            f"{f.attempts}/{f.attempt_cap}",
            str(f.teacher_calls),
            str(f.from_store),
            str(f.parse_failures),
            str(f.duplicates),
            markup(reasons),
        )
    console = _console()
    console.print(table)  # type: ignore[attr-defined]
    sources = _sources_table(report)
    if sources is not None:
        console.print(sources)  # type: ignore[attr-defined]
    short = [r.leaf_id for r in report.leaves.values() if r.funnel.accepted < r.funnel.wanted]
    if short:
        console.print(  # type: ignore[attr-defined]
            f"{len(short)} leaf(s) stopped at the attempt cap short of the samples wanted: "
            f"{markup(', '.join(short))} (see top rejections; funnel.json beside each dataset)"
        )
    extra = sum(len(r.knowledge) for r in report.leaves.values())
    more = f" (and {extra} knowledge-recipe samples)" if extra else ""
    console.print(  # type: ignore[attr-defined]
        f"{report.samples} samples{more} in {markup(report.out_dir)} "
        f"({report.teacher_calls} teacher calls, {report.seconds:.1f} s)"
    )


def _sources_table(report: GenerationReport) -> object | None:
    """Knowledge leaves: each source of the knowledge recipe, made, dropped and kept."""
    from rich.table import Table

    rows = [
        (leaf, name, f) for leaf, r in report.leaves.items() for name, f in r.funnel.sources.items()
    ]
    if not rows:
        return None
    table = Table(title="knowledge sources (documents, augmentations, RAFT)")
    table.add_column("leaf", overflow="fold")
    table.add_column("source")
    for column in ("asked", "made", "parse fail", "dups", "faithful", "samples"):
        table.add_column(column, justify="right")
    table.add_column("rejections", overflow="fold")
    for leaf, name, f in rows:
        faithful = "-" if f.passed_faithfulness is None else str(f.passed_faithfulness)
        reasons = ", ".join(f"{r} ({n})" for r, n in sorted(f.rejections.items())) or "-"
        counts = (f.asked, f.made, f.parse_failures, f.duplicates)
        table.add_row(leaf, name, *map(str, counts), faithful, str(f.samples), reasons)
    return table
