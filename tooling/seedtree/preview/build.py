"""``seedtree preview``: what the teacher makes of a pull request's changed leaves.

Reads top to bottom: find the changed leaves (:mod:`seedtree.taxonomy.changes`), validate them
(:mod:`seedtree.validate`), generate a few samples from each valid one with the configured teacher
and estimate the full generation (:mod:`seedtree.generate`), say what retraining drops for deleted
ones, then write ``preview.json`` (data) and ``preview.md`` (the comment, every PR string escaped
by :mod:`seedtree.preview.mdsafe`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedtree.errors import GitError, UsageError
from seedtree.findings import Finding
from seedtree.generate.limits import Limits
from seedtree.generate.prompts import Prompts
from seedtree.git import head_commit, run_git
from seedtree.preview.model import (
    ChunkView,
    DroppedView,
    Figure,
    FindingView,
    LeafPreview,
    PreviewReport,
    SampleView,
    SeedView,
)
from seedtree.preview.precheck import CurrentModel, precheck
from seedtree.preview.pull import ensure_current, fetch_pull, write_documents, write_leaves
from seedtree.project import Project
from seedtree.taxonomy.changes import changed_between, changed_leaves
from seedtree.taxonomy.leaves import ATTRIBUTION, QNA, Leaf, load_leaf
from seedtree.teacher import create_teacher
from seedtree.validate.api import validate_paths
from seedtree.yamlpos import parse_text

if TYPE_CHECKING:
    from seedtree.config import Config, GenerateConfig
    from seedtree.generate.outcomes import Outcome
    from seedtree.generate.run import LeafEstimate, LeafResult
    from seedtree.taxonomy.changes import ChangedLeaf, ChangedLeaves
    from seedtree.teacher.base import Teacher

DEFAULT_OUT = Path("preview.md")
EMBEDDED_NOTE = (
    "The teacher here is the small embedded model (SmolLM2-135M-Instruct, on the CI machine's "
    "CPU): its candidates show what the pipeline does with this leaf, but its judgement is not "
    "the production teacher's, so do not read its scores or verdicts as what a full run will keep."
)

# rules whose errors change nothing the teacher reads: the preview generates anyway and says so
# (they still fail the validate check)
NEUTRAL_RULES = frozenset(
    {
        "attribution-missing",
        "attribution-field-missing",
        "license-not-allowed",
        "trailing-spaces",
        "new-line-at-end-of-file",
    }
)
# ... but a leaf file the loader refuses unread stops generation wherever it is
LOAD_BLOCKING = frozenset(
    {"leaf-symlink", "symlink-outside", "file-unreadable", "file-too-large", "file-encoding"}
)
NEUTRAL_NOTE = (
    "generated anyway: its {errors} validation error(s) change nothing the teacher reads "
    "(attribution, licence, layout); they still fail the validate check"
)


# -- validation ----------------------------------------------------------------------------------


def _repo_relative(file: str, repo_root: Path) -> str:
    path = Path(file)
    absolute = path if path.is_absolute() else (Path.cwd() / path)
    try:
        # the folder resolved, not the file: a symlinked leaf file keeps its own name
        resolved = absolute.parent.resolve() / absolute.name
        return resolved.relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _finding_view(finding: Finding, repo_root: Path) -> FindingView:
    return FindingView(
        file=_repo_relative(finding.file, repo_root),
        line=finding.line,
        column=finding.column,
        severity=finding.severity,
        rule=finding.rule,
        message=finding.message,
    )


def _leaf_dir(project: Project, leaf_id: str) -> str:
    folder = project.taxonomy_root / leaf_id
    return _repo_relative(str(folder), project.repo_root) + "/"


def validate_changed(
    project: Project, changed: Sequence[ChangedLeaf]
) -> dict[str, list[FindingView]]:
    """Findings per changed (not deleted) leaf id, with repository-relative paths."""

    paths = [
        project.taxonomy_root / c.id / QNA
        for c in changed
        if c.kind != "deleted" and (project.taxonomy_root / c.id / QNA).is_file()
    ]
    result = validate_paths(paths, config=project.config.validate_, latest_for=lambda _: True)
    views = [_finding_view(f, project.repo_root) for f in result.findings]
    by_leaf: dict[str, list[FindingView]] = {c.id: [] for c in changed}
    for leaf_id in by_leaf:
        prefix = _leaf_dir(project, leaf_id)
        by_leaf[leaf_id] = sorted(
            (v for v in views if v.file.startswith(prefix)), key=lambda v: (v.file, v.line)
        )
    return by_leaf


# -- one leaf's static part ----------------------------------------------------------------------


def _seeds(leaf: Leaf) -> list[SeedView]:
    if leaf.kind == "knowledge":
        return [
            SeedView(question=qa.question, answer=qa.answer, context=seed.context)
            for seed in leaf.knowledge_seeds
            for qa in seed.qas
        ]
    return [
        SeedView(question=s.question, answer=s.answer, context=s.context) for s in leaf.skill_seeds
    ]


def _dropped(project: Project, base_commit: str | None, leaf_id: str) -> DroppedView:
    """What the base had for a deleted leaf: its seeds, and samples stored for it here."""
    seeds = 0
    if base_commit is not None:
        rel = _leaf_dir(project, leaf_id) + QNA
        try:
            text = run_git(project.repo_root, "show", f"{base_commit}:{rel}")
        except GitError:  # the base copy is unreadable: say 0 rather than fail the preview
            text = ""
        data = parse_text(text, rel).data  # depth-limited: the base copy is untrusted too
        seeds = len(data.get("seed_examples") or []) if isinstance(data, dict) else 0
    return DroppedView(seeds=seeds, samples=_stored_samples(project, leaf_id))


def _stored_samples(project: Project, leaf_id: str) -> int:
    """Generated samples this machine holds for ``leaf_id`` (0 on a fresh CI runner)."""
    from seedtree.generate.store import stored_sample_count

    return stored_sample_count(project.repo_root, leaf_id)


def _static_preview(
    project: Project, change: ChangedLeaf, findings: list[FindingView], base_commit: str | None
) -> tuple[LeafPreview, Leaf | None]:
    common: dict[str, Any] = {
        "id": change.id,
        "change": change.kind,
        "renamed_from": change.renamed_from,
        "files": list(change.files),
        "findings": findings,
    }
    if change.kind == "deleted":
        return LeafPreview(**common, dropped=_dropped(project, base_commit, change.id)), None
    qna = project.taxonomy_root / change.id / QNA
    blocking = [f for f in findings if f.severity == "error" and not generation_neutral(f)]
    if blocking or not qna.is_file():
        note = "not generated: fix the validation errors first"
        return LeafPreview(**common, note=note), None
    try:
        leaf = load_leaf(qna, project.taxonomy_root)
    except UsageError as exc:  # a leaf file the loader refuses (reported by validation too)
        return LeafPreview(**common, note=f"not generated: {exc.message}"), None
    errors = sum(1 for f in findings if f.severity == "error")
    said = NEUTRAL_NOTE.format(errors=errors) if errors else None
    return LeafPreview(**common, kind=leaf.kind, seeds=_seeds(leaf), note=said), leaf


def generation_neutral(finding: FindingView) -> bool:
    """A finding that changes nothing generation reads: in ``attribution.txt``, or a rule about
    licence, attribution or the file's layout (the teacher sees parsed values)."""
    if finding.rule in LOAD_BLOCKING:
        return False
    return finding.file.endswith("/" + ATTRIBUTION) or finding.rule in NEUTRAL_RULES


# -- generation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """What generation gives one leaf's preview (a note instead when it could not run)."""

    result: LeafResult | None = None
    estimate: LeafEstimate | None = None
    note: str | None = None


def _candidate_view(outcome: Outcome) -> SampleView:
    return SampleView(
        question=outcome.question,
        answer=outcome.answer or "",
        context=outcome.context,
        kept=outcome.kept,
        scores=dict(outcome.scores),
        verdict=None if outcome.kept else outcome.verdict,
        raw=outcome.raw,
    )


def shown_candidates(outcomes: Sequence[Outcome], count: int) -> list[Outcome]:
    """Up to ``count`` candidates, those that got furthest first (kept, judged, parsed, raw)."""
    order = sorted(range(len(outcomes)), key=lambda i: (-outcomes[i].stage, i))
    return [outcomes[i] for i in order[:count]]


def _chunk_views(result: LeafResult, shown: Sequence[Outcome]) -> list[ChunkView]:
    """The document chunks the shown candidates came from (all the leaf's chunks if none)."""
    used = {o.chunk_id for o in shown}
    chunks = [c for c in result.chunks if c.id in used] or list(result.chunks)
    return [ChunkView(source=c.source, index=c.index, text=c.text) for c in chunks]


def teacher_note(config: Config) -> str | None:
    """A plain word on the teacher's judgement when it is the small embedded default."""
    teacher = config.teacher
    return EMBEDDED_NOTE if (teacher.backend, teacher.model) == ("embedded", "default") else None


def _estimate_figures(cost: LeafEstimate) -> list[Figure]:
    pairs = [
        ("samples", cost.samples),
        ("teacher calls, at least", cost.calls_min),
        ("at most", cost.calls_max),
        ("tokens, at least", cost.tokens_min),
        ("at most", cost.tokens_max),
    ]
    if cost.chunks:
        pairs.insert(1, ("document chunks", cost.chunks))
    return [Figure(label=k, value=float(v)) for k, v in pairs]


def preview_limits(config: Config, samples: int) -> Limits:
    """The preview's caps on generation: ``samples`` candidates per leaf, judged, not filtered."""
    preview = config.preview
    return Limits(samples, preview.max_tokens, preview.chunks_per_document)


def over_cap(project: Project, leaves: Sequence[Leaf], samples: int) -> str | None:
    """Why this preview may not call the teacher: its estimated tokens pass
    ``preview.max_teacher_tokens`` (a teacher other than the embedded default only)."""
    cap = project.config.preview.max_teacher_tokens
    if cap is None or samples <= 0 or not leaves or teacher_note(project.config) is not None:
        return None
    from seedtree.generate.run import estimate

    config = _preview_generate_config(project.config)
    run = estimate(list(leaves), config, repo_root=project.repo_root, samples=samples)
    tokens = sum(cost.tokens_max for cost in run.values())
    if tokens <= cap:
        return None
    return (
        f"not generated: this preview would cost up to {tokens:,} teacher tokens (estimated as "
        f"`generate --dry-run` counts them), above preview.max_teacher_tokens ({cap:,})"
    )


def _preview_generate_config(config: Config) -> GenerateConfig:
    factor = min(config.generate.max_attempts_factor, config.preview.max_attempts_factor)
    return config.generate.model_copy(update={"max_attempts_factor": factor})


Check = Callable[[], None]  # raises when the preview should stop spending (the head moved on)


def generate_previews(
    project: Project,
    leaves: Sequence[Leaf],
    samples: int,
    quiet: bool,
    check: Check | None = None,
) -> tuple[str | None, dict[str, Generated]]:
    """The teacher's id and, per leaf id, a few generated candidates and the full-run estimate.

    With ``check``, the leaves are generated one at a time and ``check`` runs before each."""
    try:
        from seedtree.generate.run import estimate
    except ImportError as exc:  # a light install without the generate extra
        note = f"not generated: generation is not available here ({exc.name} missing)"
        return None, {leaf.id: Generated(note=note) for leaf in leaves}

    costs = estimate(list(leaves), project.config.generate, repo_root=project.repo_root)
    config = _preview_generate_config(project.config)
    if samples <= 0 or not leaves:
        return None, {leaf_id: Generated(estimate=cost) for leaf_id, cost in costs.items()}
    teacher = create_teacher(project.config.teacher)
    run = partial(_generate, project, teacher, config, samples, quiet)
    groups = [[leaf] for leaf in leaves] if check else [list(leaves)]
    results: dict[str, LeafResult] = {}
    try:
        for group in groups:
            if check is not None:
                check()
            results |= run(group)
    finally:
        teacher.close()
    out = {i: Generated(result=r, estimate=costs.get(i)) for i, r in results.items()}
    return teacher.id, out


def _generate(
    project: Project,
    teacher: Teacher,
    config: GenerateConfig,
    samples: int,
    quiet: bool,
    leaves: list[Leaf],
) -> dict[str, LeafResult]:
    from seedtree.generate.run import generate_leaves

    with tempfile.TemporaryDirectory(prefix="seedtree-preview-") as tmp:
        report = generate_leaves(
            leaves, teacher, repo_root=project.repo_root, config=config, samples=samples,
            out_dir=Path(tmp), quiet=quiet, limits=preview_limits(project.config, samples),
            documents=project.config.documents,
        )  # fmt: skip
    return report.leaves


def _with_generation(view: LeafPreview, generated: Generated, samples: int) -> LeafPreview:
    update: dict[str, Any] = {"note": generated.note} if generated.note else {}
    if generated.estimate is not None:
        update["estimate"] = _estimate_figures(generated.estimate)
    result = generated.result
    if result is not None:
        shown = shown_candidates(result.outcomes, samples)
        update["samples"] = [_candidate_view(o) for o in shown]
        update["candidates"] = len(result.outcomes)
        update["funnel"] = [
            Figure(label=k.replace("_", " "), value=float(v)) for k, v in result.funnel.steps()
        ]
        update["chunks"] = _chunk_views(result, shown)
    return view.model_copy(update=update)


# -- the whole preview ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewOptions:
    """What one preview does besides validating: candidates per leaf, and the precheck."""

    samples: int
    quiet: bool = False
    precheck: CurrentModel | None = None  # None: no precheck


@dataclass(frozen=True)
class Head:
    """The commit previewed and where its leaves were read (a pull request's objects or not)."""

    commit: str | None
    production: bool = False
    linked: tuple[str, ...] = ()  # leaf files that are symlinks at the head, never written
    check: Check | None = None  # before each spending step: raises once the head moved on


def build_preview(project: Project, *, base: str | None, options: PreviewOptions) -> PreviewReport:
    """Everything the preview of the working tree against ``base`` shows, as data."""

    started = time.perf_counter()
    changed = changed_leaves(project.repo_root, project.taxonomy_root, base)
    head = Head(_head_commit(project.repo_root))
    return preview_changes(project, changed, options, head, started)


def _linked_findings(project: Project, head: Head) -> dict[str, list[FindingView]]:
    """A ``leaf-symlink`` finding per leaf file that is a symlink at the pull request's head."""
    found: dict[str, list[FindingView]] = {}
    prefix = _tax_prefix(project)
    for rel in head.linked:
        leaf_id = rel.removeprefix(prefix).rpartition("/")[0]
        message = f"{rel.rpartition('/')[2]} is a symbolic link: leaf files must be regular files"
        view = FindingView(file=rel, line=1, column=1, severity="error", rule="leaf-symlink",
                           message=message + " (not read)")  # fmt: skip
        found.setdefault(leaf_id, []).append(view)
    return found


def preview_changes(
    project: Project, changed: ChangedLeaves, options: PreviewOptions, head: Head, started: float
) -> PreviewReport:
    """The preview of ``changed``: validation, generation, estimate, precheck, what is dropped."""
    findings = validate_changed(project, changed.leaves)
    for leaf_id, extra in _linked_findings(project, head).items():
        findings[leaf_id] = [*findings.get(leaf_id, []), *extra]
    views, leaves = [], []
    for change in changed.leaves:
        view, leaf = _static_preview(project, change, findings[change.id], changed.base_commit)
        views.append(view)
        if leaf is not None:
            leaves.append(leaf)
    refused = over_cap(project, leaves, options.samples)
    samples = 0 if refused else options.samples
    teacher, generated = generate_previews(project, leaves, samples, options.quiet, head.check)
    if refused:
        generated = {i: replace(g, note=refused) for i, g in generated.items()}
    views = [
        _with_generation(v, generated[v.id], samples) if v.id in generated else v for v in views
    ]
    if options.precheck is not None and leaves and head.check is not None:
        head.check()
    views = _with_precheck(project, views, leaves, options.precheck)
    return PreviewReport(
        base_ref=changed.base_ref,
        base_commit=changed.base_commit,
        head_commit=head.commit,
        teacher=teacher or (project.config.teacher.model if refused else None),
        teacher_note=teacher_note(project.config) if teacher else None,
        samples_per_leaf=options.samples,
        production=head.production,
        note=refused,
        seconds=round(time.perf_counter() - started, 1),
        leaves=views,
    )


def _with_precheck(
    project: Project, views: list[LeafPreview], leaves: Sequence[Leaf], model: CurrentModel | None
) -> list[LeafPreview]:
    """The views with the current model's answers to each loaded leaf's seed questions."""
    if model is None or not leaves:
        return views
    settings = project.config.precheck
    judge = create_teacher(project.config.teacher) if settings.judge else None
    try:
        found = precheck(leaves, model, settings, judge=judge, prompts=_prompts(project))
    finally:
        if judge is not None:
            judge.close()
    return [v.model_copy(update={"precheck": found[v.id]}) if v.id in found else v for v in views]


def _prompts(project: Project) -> Prompts:
    folder = project.config.generate.prompts_dir
    return Prompts(None if folder is None else project.repo_root / folder)


def preview_pull(
    project: Project,
    number: int,
    remote: str | None,
    options: PreviewOptions,
    token: str | None = None,
) -> PreviewReport:
    """The preview of pull request ``number`` read from its git objects, with this checkout's
    (the default branch's) seedtree and configuration (see :mod:`seedtree.preview.pull`).

    Before each leaf's teacher work and before the precheck, the remote is asked whether the
    pull request moved on (:class:`~seedtree.preview.pull.PullMovedOn` then stops the run)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seedtree-pull-") as tmp:
        snapshot = fetch_pull(project, number, remote, Path(tmp), token)
        pulled = Project(snapshot.root, snapshot.root / _taxonomy_rel(project), project.config)
        snapshot = write_leaves(pulled, snapshot, _tax_prefix(pulled))
        changed = changed_between(
            pulled.repo_root, pulled.taxonomy_root, snapshot.base_commit, snapshot.head_commit
        )
        changed = replace(changed, base_ref=_branch(project.repo_root))
        live = [pulled.taxonomy_root / c.id for c in changed.leaves if c.kind != "deleted"]
        write_documents(pulled, snapshot, live)
        check = partial(ensure_current, project, snapshot)
        head = Head(snapshot.head_commit, production=True, linked=snapshot.linked, check=check)
        return preview_changes(pulled, changed, options, head, started)


def _branch(repo_root: Path) -> str:
    """The trusted checkout's branch (the default branch), its commit when detached."""
    name = run_git(repo_root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    return name if name != "HEAD" else str(head_commit(repo_root))


def _tax_prefix(project: Project) -> str:
    """The taxonomy's folder relative to the repository root, with a slash ("" at the root)."""
    return _leaf_dir(project, "").removeprefix("./")


def _taxonomy_rel(project: Project) -> str:
    try:
        return project.taxonomy_root.relative_to(project.repo_root.resolve()).as_posix()
    except ValueError:
        return project.config.taxonomy_dir


def _head_commit(repo_root: Path) -> str | None:

    try:
        return str(head_commit(repo_root))
    except Exception:  # an unborn branch: the preview still describes the working tree
        return None
