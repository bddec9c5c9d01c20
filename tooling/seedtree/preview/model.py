"""The preview of a pull request as data: what ``seedtree preview`` finds, before any markdown.

It is written as ``preview.json`` beside ``preview.md``. The comment workflow reads it back as
untrusted data (the job that built it ran the pull request's code): :func:`load_report` validates
its shape, and :mod:`seedtree.preview.render` escapes every string it shows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from seedtree.errors import UsageError

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)  # version N is version N+1 without the fields marked "since N+1"
Change = Literal["added", "modified", "deleted", "renamed"]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingView(_View):
    file: str  # repository-relative, POSIX
    line: int
    column: int
    severity: Literal["error", "warning"]
    rule: str
    message: str


class SeedView(_View):
    question: str
    answer: str
    context: str | None = None


class SampleView(_View):
    """One candidate the teacher wrote and its verdict at the configured judge thresholds."""

    question: str
    answer: str
    context: str | None = None
    kept: bool = True
    scores: dict[str, float] = {}  # judge name -> score
    verdict: str | None = None  # since 2: why it is not a sample ("rejected: judge ...")
    raw: str | None = None  # since 2: the teacher's text, when nothing could be parsed from it


class ChunkView(_View):
    source: str  # document path
    index: int
    text: str


class Figure(_View):
    """One labelled number of the funnel or the cost estimate."""

    label: str
    value: float


class PrecheckAnswer(_View):
    """One seed question: the contributor's answer beside the current model's."""

    question: str
    context: str | None = None
    contributor: str
    model: str
    similarity: float  # ROUGE-L F1 of the two answers' words
    grade: int | None = None  # the judge's rating of the model's answer (1 to 3), when judged


class PrecheckView(_View):
    """Since 3: what the current released model already answers of a leaf's seed questions."""

    model: str  # which model answered (a version, or the served model's name)
    similar: float  # the similarity from which an answer counts as like the contributor's
    answers: list[PrecheckAnswer] = []
    verdict: str  # one line in plain words


class DroppedView(_View):
    seeds: int  # seed examples the leaf had at the base
    samples: int  # generated samples stored for it (0 when none were generated here)


class LeafPreview(_View):
    id: str
    change: Change
    renamed_from: str | None = None
    kind: str | None = None  # knowledge | skill | grounded_skill (None when it cannot be loaded)
    files: list[str] = []
    findings: list[FindingView] = []
    seeds: list[SeedView] = []
    samples: list[SampleView] = []
    funnel: list[Figure] = []
    estimate: list[Figure] = []
    chunks: list[ChunkView] = []
    candidates: int = 0  # since 2: candidates the teacher wrote (``samples`` shows the first)
    dropped: DroppedView | None = None
    precheck: PrecheckView | None = None  # since 3
    note: str | None = None  # why something is missing (not generated: validation errors, ...)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


class PreviewReport(_View):
    version: int = SCHEMA_VERSION
    base_ref: str
    base_commit: str | None = None
    head_commit: str | None = None
    teacher: str | None = None
    teacher_note: str | None = None  # since 2: what to make of this teacher's judgement
    samples_per_leaf: int
    production: bool = False  # since 3: the trusted job's preview of a pull request's objects
    note: str | None = None  # since 3: why nothing was generated (the cost cap), or similar
    seconds: float = 0.0
    leaves: list[LeafPreview] = []


def load_report(text: str, origin: str) -> PreviewReport:
    """Parse ``preview.json``; any deviation from the shape is a usage error, never a crash."""
    try:
        report = PreviewReport.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{origin}: not a seedtree preview ({where}: {first['msg']})") from None
    if report.version not in READABLE_VERSIONS:
        expected = " or ".join(str(v) for v in READABLE_VERSIONS)
        raise UsageError(f"{origin}: preview version {report.version}, expected {expected}")
    return report
