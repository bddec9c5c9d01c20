"""Markdown for a :class:`~seedtree.preview.model.PreviewReport`, every PR string escaped.

Links to file lines are built from a :class:`Links` base that the caller trusts (the workflow's
``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY`` and commit), never from the report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from seedtree.preview import mdsafe
from seedtree.preview.mdsafe import Html, Md, trusted, trusted_html
from seedtree.preview.model import (
    FindingView,
    LeafPreview,
    PrecheckAnswer,
    PrecheckView,
    PreviewReport,
    SampleView,
)

TITLE = "## seedtree preview"
PRODUCTION_TITLE = "## seedtree production preview"
# where the retrain job links each leaf's section to the released result (seedtree comment)
RELEASED_ANCHOR = "<!-- seedtree:released -->"
_SHA = re.compile(r"[0-9a-f]{7,64}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
CHANGE_ICON = {"added": "🆕", "modified": "✏️", "deleted": "🗑️", "renamed": "🔀"}


@dataclass(frozen=True)
class Links:
    server_url: str
    repository: str
    sha: str

    def blob(self, path: str, line: int | None = None) -> str | None:
        """``…/blob/<sha>/<path>#L<line>``, or None for a path that could leave the repository."""
        parts = path.split("/")
        if not path or path.startswith("/") or "\\" in path or ".." in parts:
            return None
        anchor = f"#L{line}" if line else ""
        return f"{self.server_url}/{self.repository}/blob/{self.sha}/{quote(path)}{anchor}"


def links_from_env(environ: Mapping[str, str], sha: str | None) -> Links | None:
    """A link base from the GitHub Actions environment, when it is complete and well-formed."""
    server = environ.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository = environ.get("GITHUB_REPOSITORY", "")
    if not (server and sha and _SHA.fullmatch(sha) and _REPOSITORY.fullmatch(repository)):
        return None
    try:
        mdsafe.url(server)
    except ValueError:
        return None
    return Links(server, repository, sha)


def _short(sha: str | None) -> Md:
    return mdsafe.code_span(sha[:12]) if sha else trusted("*(working tree)*")


def _finding(f: FindingView, links: Links | None) -> Md:
    icon = "❌" if f.severity == "error" else "⚠️"
    where = f"{f.file}:{f.line}:{f.column}"
    url = links.blob(f.file, f.line) if links else None
    place = mdsafe.link(where, url) if url else mdsafe.code_span(where)
    rule = mdsafe.code_span(f.rule, limit=60)
    return trusted(f"- {icon} {place} {rule} {mdsafe.text(f.message)}")


def _validation(leaf: LeafPreview, links: Links | None) -> Md:
    if not leaf.findings:
        return trusted("**Validation:** ✅ no findings")
    shown = leaf.findings[:30]
    lines = [_finding(f, links) for f in shown]
    more = len(leaf.findings) - len(shown)
    tail = [trusted(f"- … and {more} more")] if more else []
    head = trusted(f"**Validation:** {leaf.errors} error(s), {len(leaf.findings)} finding(s)")
    return mdsafe.join([head, *lines, *tail], "\n")


def _qa(question: str, answer: str | None, context: str | None) -> Md:
    parts: list[Md] = []
    if context:
        parts += [trusted("*Context*"), mdsafe.code_block(context, "text", limit=1500)]
    if question:
        parts += [trusted("*Question*"), mdsafe.paragraphs(question, limit=1000)]
    if answer:
        parts += [trusted("*Answer*"), mdsafe.paragraphs(answer, limit=1500)]
    return mdsafe.join(parts, "\n\n")


def _seeds(leaf: LeafPreview) -> Md:
    """The seeds, collapsed (the diff shows them already)."""
    items = [
        mdsafe.join([trusted(f"**Seed {i}**"), _qa(s.question, s.answer, s.context)], "\n\n")
        for i, s in enumerate(leaf.seeds[:10], 1)
    ]
    more = len(leaf.seeds) - len(items)
    tail = [trusted(f"… and {more} more seeds")] if more else []
    summary = trusted_html(f"Seeds ({len(leaf.seeds)}), as in the diff")
    return mdsafe.details(summary, mdsafe.join([*items, *tail], "\n\n"))


def _scores(sample: SampleView) -> Md:
    shown = " · ".join(
        f"{mdsafe.text(k.replace('_', ' '), 40)} {v:.2f}" for k, v in sample.scores.items()
    )
    return trusted(f"Judge scores: {shown}" if shown else "Judge scores: none (not judged)")


def _verdict(sample: SampleView) -> Md:
    if sample.kept:
        return trusted("✅ kept")
    return mdsafe.join([trusted("❌ "), mdsafe.text(sample.verdict or "rejected", 300)])


def _candidate(index: int, sample: SampleView) -> Md:
    parts = [mdsafe.join([trusted(f"**Candidate {index}:** "), _verdict(sample)])]
    parts += [_scores(sample), _qa(sample.question, sample.answer, sample.context)]
    if sample.raw is not None:
        parts += [trusted("*The teacher's text*"), mdsafe.code_block(sample.raw, "text", 1500)]
    return mdsafe.join([p for p in parts if p], "\n\n")


def _samples(leaf: LeafPreview) -> Md:
    """Every candidate shown, open: what a reviewer comes for."""
    if not leaf.samples:
        return trusted("**Generated candidates:** none")
    kept = sum(1 for s in leaf.samples if s.kept)
    made = max(leaf.candidates, len(leaf.samples))
    head = trusted(
        f"**Generated candidates:** {len(leaf.samples)} of {made} shown, {kept} kept at the "
        "configured judge thresholds"
    )
    items = [_candidate(i, s) for i, s in enumerate(leaf.samples[:10], 1)]
    return mdsafe.join([head, *items], "\n\n")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _figures(title: str, figures: list[tuple[str, float]], sep: str) -> Md:
    if not figures:
        return trusted("")
    cells = sep.join(f"{mdsafe.text(label, 60)} **{_number(value)}**" for label, value in figures)
    return trusted(f"**{title}:** {cells}")


def _chunks(leaf: LeafPreview) -> Md:
    if not leaf.chunks:
        return trusted("")
    items = [
        mdsafe.details(
            mdsafe.html_text(f"{c.source} · chunk {c.index}"), mdsafe.code_block(c.text, "text")
        )
        for c in leaf.chunks[:5]
    ]
    head = trusted(f"**Knowledge chunks used** ({len(leaf.chunks)})")
    return mdsafe.join([head, *items], "\n\n")


def _dropped(leaf: LeafPreview) -> Md:
    if leaf.dropped is None:
        return trusted("")
    d = leaf.dropped
    return trusted(
        f"**Retraining will drop** this leaf: its {d.seeds} seed example(s), "
        f"{d.samples} generated sample(s), and its entries in the replay buffer."
    )


def _precheck_answer(index: int, row: PrecheckAnswer, similar: float) -> Md:
    alike = "✅ alike" if row.similarity >= similar else "➖ different"
    grade = f" · judge {row.grade}/3" if row.grade is not None else ""
    head = trusted(f"**Question {index}** · ROUGE-L F1 {row.similarity:.2f} ({alike}){grade}")
    parts = [head]
    if row.context:
        parts += [trusted("*Context*"), mdsafe.code_block(row.context, "text", limit=800)]
    parts += [mdsafe.paragraphs(row.question, limit=600)]
    parts += [trusted("*The contributor's answer*"), mdsafe.paragraphs(row.contributor, 1000)]
    parts += [trusted("*The current model's answer*"), mdsafe.paragraphs(row.model or "–", 1000)]
    return mdsafe.join(parts, "\n\n")


def _precheck(view: PrecheckView | None) -> Md:
    """The verdict in plain words, then each question's two answers side by side (collapsed)."""
    if view is None:
        return trusted("")
    model = mdsafe.code_span(view.model, 80)
    line = mdsafe.join([trusted(f"**Precheck** (current model {model}): "),
                        mdsafe.text(view.verdict, 300)])  # fmt: skip
    items = [_precheck_answer(i, r, view.similar) for i, r in enumerate(view.answers[:10], 1)]
    if not items:
        return line
    summary = trusted_html(f"The current model's answers ({len(view.answers)})")
    return mdsafe.join([line, mdsafe.details(summary, mdsafe.join(items, "\n\n"))], "\n\n")


def _leaf_body(leaf: LeafPreview, links: Links | None) -> Md:
    parts = [_validation(leaf, links)]
    if leaf.note:
        parts.append(mdsafe.join([trusted("> "), mdsafe.text(leaf.note, 500)]))
    if leaf.change == "deleted":
        parts.append(_dropped(leaf))
    else:
        parts += [_precheck(leaf.precheck), _samples(leaf), _seeds(leaf), _chunks(leaf)]
        parts.append(_figures("Funnel", [(f.label, f.value) for f in leaf.funnel], " → "))
        estimate = [(f.label, f.value) for f in leaf.estimate]
        parts.append(_figures("Full generation, estimated", estimate, " · "))
    parts.append(trusted(RELEASED_ANCHOR))
    return mdsafe.join([p for p in parts if p], "\n\n")


def _leaf_summary(leaf: LeafPreview) -> Html:
    label = f"{leaf.id} ({leaf.change}"
    label += f" from {leaf.renamed_from}" if leaf.renamed_from else ""
    label += f", {leaf.kind})" if leaf.kind else ")"
    status = "❌" if leaf.errors else "✅"
    return trusted_html(f"{status} {CHANGE_ICON[leaf.change]} {mdsafe.html_text(label)}")


def _table(report: PreviewReport) -> Md:
    rows = [trusted("| leaf | change | errors | candidates kept |"), trusted("|---|---|---:|---:|")]
    for leaf in report.leaves:
        kept = sum(1 for s in leaf.samples if s.kept)
        cells = [mdsafe.text(leaf.id, 120), trusted(leaf.change), trusted(str(leaf.errors))]
        cells.append(trusted(f"{kept}/{len(leaf.samples)}" if leaf.samples else "–"))
        rows.append(trusted("| " + " | ".join(cells) + " |"))
    return mdsafe.join(rows, "\n")


def _head(report: PreviewReport) -> Md:
    base = mdsafe.code_span(report.base_ref, 80)
    teacher = mdsafe.code_span(report.teacher or "none", 80)
    line = (
        f"Base {base} ({_short(report.base_commit)}) → {_short(report.head_commit)} · "
        f"teacher {teacher} · {report.samples_per_leaf} candidate(s) per leaf · "
        f"built in {report.seconds:.0f} s"
    )
    title = PRODUCTION_TITLE if report.production else TITLE
    parts = [trusted(f"{title}\n\n{line}"), _production(report), _teacher_note(report)]
    if report.note:
        parts.append(mdsafe.join([trusted("> ⚠️ "), mdsafe.text(report.note, 600)]))
    parts.append(_table(report) if report.leaves else trusted("No taxonomy leaves changed."))
    return mdsafe.join([p for p in parts if p], "\n\n")


def _production(report: PreviewReport) -> Md:
    if not report.production:
        return trusted("")
    teacher = mdsafe.code_span(report.teacher or "none", 80)
    return trusted(
        f"Written by the teacher {teacher} named in the default branch's configuration, on a "
        "maintainer's request: the pull request's leaves were read from its git objects and "
        "validated again by the default branch's seedtree."
    )


def _teacher_note(report: PreviewReport) -> Md:
    if not report.teacher_note:
        return trusted("")
    return mdsafe.join([trusted("> ⚠️ "), mdsafe.text(report.teacher_note, 600)])


def render(
    report: PreviewReport, links: Links | None = None, budget: int = mdsafe.COMMENT_BUDGET
) -> Md:
    """The whole preview comment, under ``budget`` (whole leaves cut last-first)."""
    blocks = [
        mdsafe.details(_leaf_summary(leaf), _leaf_body(leaf, links), open_=len(report.leaves) == 1)
        for leaf in report.leaves
    ]
    return mdsafe.assemble(_head(report), blocks, budget)
