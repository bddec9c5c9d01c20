"""One typed configuration: ``seedtree.yaml`` at the taxonomy repository root.

Precedence, lowest first: defaults declared here, the file, environment variables
``SEEDTREE__<SECTION>__<FIELD>`` (e.g. ``SEEDTREE__TEACHER__BACKEND=openai``), then CLI options
(applied by the CLI through :func:`with_overrides`). Every default is declared once, here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seedtree.errors import ConfigError
from seedtree.yamlpos import parse_text

V = TypeVar("V")
CONFIG_FILE = "seedtree.yaml"
ENV_PREFIX = "SEEDTREE__"


class _Section(BaseModel):
    # a field's docstring is its description: the configuration reference is generated from them
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _over_defaults(value: dict[str, V], defaults: dict[str, V], what: str) -> dict[str, V]:
    """``value`` over ``defaults`` (keys left out keep their default); unknown keys refused."""
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; known: {sorted(defaults)}")
    return {**defaults, **value}


class ValidateConfig(_Section):
    """`validate:` the validator's limits and allow-lists."""

    allowed_licenses: tuple[str, ...] = (
        "CC0-1.0",
        "CDLA-Permissive-2.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "Apache-2.0",
        "MIT",
    )
    """Licenses an `attribution.txt` may name (SPDX ids, compared ignoring case, spaces and
    hyphens).
    """
    max_context_words: int = 500
    """Longest seed context, in words (`context-too-long`)."""
    max_qa_words: int = 250
    """Longest question and answer together, in words (`qa-too-long`)."""
    max_file_bytes: int = 1_000_000
    """Larger qna.yaml files are refused unread (documents may be 10 times larger)"""
    baseline: str | None = None
    """Findings the tree already had (written by `seedtree init`): reported as known, never
    failing; a path relative to the repository root.
    """


class TeacherConfig(_Section):
    """`teacher:` the model that generates and judges synthetic data."""

    backend: Literal["embedded", "openai", "vllm"] = "embedded"
    """`embedded` (a local transformers model), `openai` (OpenAI-compatible servers: vLLM,
    `seedtree serve`) or `vllm` (in this process, on GPUs).
    """
    model: str = "default"
    """"default" is the embedded SmolLM2-135M-Instruct; otherwise a local HF folder or a model name
    known to the server.
    """
    base_urls: tuple[str, ...] = ()
    """The servers of the `openai` backend (`http://host:8000/v1`); requests are spread over them.
    """
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the servers' API key (never the key itself)."""
    max_in_flight: int = 16
    """Requests sent to the servers at once."""
    timeout_s: float = 120.0
    """Seconds one server request may take."""
    max_retries: int = 5
    """Retries of a failed request, on the next server, before the run fails (exit 3)."""
    retry_backoff_s: float = 0.5
    """First wait between retries, doubled each time."""
    batch_size: int = 16
    """Prompts the embedded backend decodes together."""
    device: str = "auto"
    """`auto` (CUDA when there is one, else CPU), `cpu` or `cuda`, for the embedded backend."""
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    """Weights of the embedded backend: `auto` is bfloat16 on CUDA and on a CPU with native
    bfloat16 arithmetic (AVX512-BF16 or AMX), float32 elsewhere (emulated bfloat16 is slower).
    """
    quantize: Literal["none", "int8", "auto"] = "none"
    """Linear weights of the embedded backend on a CPU: `int8` (dynamically quantized from float32,
    activations in float32; not with dtype bfloat16), `auto` (int8 where dtype gives float32 on a
    CPU: the CPUs without native bfloat16) or `none`. int8 answers differ, so the teacher's id
    (hence the answer cache) keeps them apart.
    """
    tensor_parallel_size: int = 1
    """GPUs one in-process vLLM model is split over."""
    truncate_prompts: bool = False
    """Cut prompts longer than the model's context instead of failing."""
    score_top_logprobs: int = 20
    """Top log-probabilities asked of a server when a judge scores its labels."""


class StudentConfig(_Section):
    """`student:` the model that is trained."""

    model: str = "default"
    """The model training starts from: `default` (the embedded SmolLM2-135M-Instruct), a name in
    the model store or a Hugging Face-format folder.
    """


JUDGE_THRESHOLDS = dict.fromkeys(
    ("question", "pair", "faithfulness", "relevancy", "knowledge_question", "safety"), 0.5
)

SEED_LIKENESS = {"question": 0.0, "answer": 0.0}

# what the preview's stages ask for at most (measured on the embedded teacher: bench/preview.py;
# a seed context is about 120 tokens, five short questions or Q&A pairs about 100 to 150)
PREVIEW_MAX_TOKENS = {
    "contexts": 160,
    "questions": 128,
    "grounded_questions": 128,
    "answer": 128,
    "knowledge_qa": 160,
}


KnowledgeSource = Literal[
    "document", "summary_detailed", "summary_extractive", "atomic_facts", "knowledge_raft"
]
KNOWLEDGE_SOURCES: tuple[KnowledgeSource, ...] = (
    "document",
    "summary_detailed",
    "summary_extractive",
    "atomic_facts",
    "knowledge_raft",
)


class GenerateConfig(_Section):
    """`generate:` synthetic data generation (LAB's pipelines)."""

    samples_per_leaf: int = 30
    """Accepted samples wanted per leaf; generation stops earlier only at the attempt cap."""
    max_attempts_factor: float = 4.0
    """Attempt cap: at most ceil(samples * factor / questions_per_prompt) generation prompts a
    leaf.
    """
    questions_per_prompt: int = 5
    """Candidates asked for in one generation prompt (questions, or knowledge Q&A pairs)"""
    rouge_threshold: float = 0.7
    """Near-duplicate when ROUGE-L F1 with a seed or an earlier candidate reaches this."""
    seeds_per_prompt: int = 3
    """Seed examples shown in one generation prompt (all from the leaf being generated)."""
    temperature: float = 0.7
    """Sampling temperature of generation prompts (judges decode greedily)."""
    answer_temperature: float | None = Field(default=None, ge=0.0)
    """Sampling temperature of the skill answer stage (None: temperature). Questions want variety;
    a lower value here keeps answers closer to the form of the leaf's example answer.
    """
    top_p: float = 0.95
    """Nucleus sampling of generation prompts."""
    seed: int = Field(default=0, ge=0)
    """Mixed into every generation request's sampling seed: another value draws other samples
    from the same leaves and teacher (0: the default draw, as in earlier versions).
    """
    max_tokens: int = 256
    """Longest teacher answer, in tokens."""
    chunk_tokens: int = 400
    """Knowledge chunking, in tokens of `tokenizer`."""
    chunk_overlap: int = 50
    """Tokens shared by consecutive chunks of a document."""
    tokenizer: str = "default"
    """Model whose tokenizer counts chunk tokens (the student's); "whitespace" counts words."""
    long_answer_words: int = 50
    """Answers longer than this many words are tagged "long", others "short"."""
    knowledge_sources: tuple[KnowledgeSource, ...] = KNOWLEDGE_SOURCES
    """Knowledge leaves: what is built beside the Q&A (LAB's knowledge recipe): the document
    chunks as pre-training text, the teacher's detailed summary, extractive summary and atomic
    facts of each chunk (judged for faithfulness), and each Q&A again with its chunk and
    distractor chunks of other leaves in the prompt (knowledge_raft); () builds the Q&A alone
    """
    augmented_chunks: int | None = Field(default=None, ge=1)
    """Knowledge: chunks per leaf the teacher summarises, spread evenly over the leaf's chunks
    (None: every chunk); each costs one request per augmentation and one judge request
    """
    raft_distractors: int = Field(default=3, ge=1)
    """Knowledge: chunks of other knowledge leaves put beside a Q&A's own chunk in its RAFT sample
    """
    judge_thresholds: dict[str, float] = Field(default_factory=lambda: dict(JUDGE_THRESHOLDS))
    """A judge passes a candidate when the probability of its passing labels reaches this (judges
    left out of seedtree.yaml keep these defaults)
    """
    batch_requests: int = 64
    """Requests per planned teacher batch (fixed from the whole run, across leaves)"""
    prompts_dir: str | None = None
    """Folder of prompt templates overriding the shipped ones (relative to the repository root)"""
    quiet: bool = False
    """No progress bars."""

    few_shot: Literal["prompt", "chat"] = "prompt"
    """Skills: "prompt" lists a leaf's seeds in one instruction (LAB's prompts); "chat" gives them
    as earlier turns, which a small teacher copies better (freeform skills only)"""
    min_seed_likeness: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=lambda: dict(SEED_LIKENESS)
    )
    """Skills: least ROUGE-L of a question (answer) with its nearest seed's, as a share of the
    seeds' own (the least typical seed's with its nearest other); 0 is off. For a small teacher"""
    max_repetition: float = Field(default=0.5, ge=0.0, le=1.0)
    """Skills: most share of an answer's word 4-grams that repeat an earlier one (1 is off)"""

    @field_validator("judge_thresholds")
    @classmethod
    def _known_judges(cls, value: dict[str, float]) -> dict[str, float]:
        return _over_defaults(value, JUDGE_THRESHOLDS, "judge")

    @field_validator("min_seed_likeness")
    @classmethod
    def _known_parts(cls, value: dict[str, float]) -> dict[str, float]:
        return _over_defaults(value, SEED_LIKENESS, "part")


class PreviewConfig(_Section):
    """`preview:` the pull-request preview."""

    samples: int = 3
    """Candidates generated and shown per changed leaf, each carried through every stage and judge
    (the verdict at generate.judge_thresholds is shown, not used to drop it)
    """
    max_attempts_factor: float = 2.0
    """Attempt cap of the preview's generation (generate.max_attempts_factor is for full runs): a
    preview shows what the teacher makes of a leaf, it does not insist on the full count.
    """
    max_tokens: dict[str, int] = Field(default_factory=lambda: dict(PREVIEW_MAX_TOKENS))
    """New tokens per request of a stage, at most generate.max_tokens (stages left out use that)"""
    chunks_per_document: int = Field(default=1, ge=1)
    """Knowledge: chunks used from each document (the full-run estimate still counts them all)"""
    max_teacher_tokens: int | None = Field(default=200_000, ge=1)
    """Cost cap of one preview run with a teacher other than the embedded default: when the
    estimate of the run's teacher tokens (as `generate --dry-run` counts them, at the preview's
    caps) is above it, nothing is generated and the comment says so (None: no cap)
    """

    @field_validator("max_tokens")
    @classmethod
    def _known_stages(cls, value: dict[str, int]) -> dict[str, int]:
        if any(v < 1 for v in value.values()):
            raise ValueError("every stage needs at least 1 new token")
        return _over_defaults(value, PREVIEW_MAX_TOKENS, "stage")


class PrecheckConfig(_Section):
    """`precheck:` the current released model answers a changed leaf's seed questions."""

    base_urls: tuple[str, ...] = ()
    """OpenAI-compatible servers of the current model (vLLM, `seedtree serve` on the current
    release); empty: the current release is loaded here from the artifact store.
    """
    model: str = "current"
    """The model name the servers know the current release by."""
    api_key_env: str = "SEEDTREE_PRECHECK_API_KEY"
    """Name of the environment variable holding those servers' API key (never the key itself)."""
    max_questions: int = Field(default=10, ge=1)
    """Seed questions asked per leaf (the first ones)."""
    max_tokens: int = Field(default=256, ge=1)
    """Longest answer of the current model, in tokens."""
    similar: float = Field(default=0.5, ge=0.0, le=1.0)
    """ROUGE-L F1 with the contributor's answer from which the current model counts as already
    answering a question like the contributor.
    """
    judge: bool = False
    """The configured teacher grades each of the current model's answers (the pair judge, 1 to 3).
    """


class TrainConfig(_Section):
    """`train:` phased training."""

    recipe: str = "training/recipe.yaml"
    """The training recipe (phases, hyper-parameters, replay), relative to the repository root."""
    deepspeed: str | None = None
    """A DeepSpeed ZeRO configuration (e.g. training/deepspeed/zero3.json); None: the plain engine.
    """


class RetrainConfig(_Section):
    """`retrain:` merge to model: the gate, the report, benchmarks, the launcher."""

    base_model: str | None = None
    """The model v1 starts from (and any later --base-model); None: student.model."""
    recipe: str | None = None
    """Training recipe for retraining; None: train.recipe."""
    min_learning: float = Field(default=0.01, ge=0.0)
    """Gate: the mean relative loss drop over the changed leaves must reach this (and the lower
    bound of its interval must be above zero)
    """
    max_forgetting: float = Field(default=0.05, ge=0.0)
    """Gate: an earlier leaf is forgotten when the lower bound of its loss rise exceeds this."""
    confidence: float = Field(default=0.9, gt=0.0, lt=1.0)
    """Gate: two-sided confidence of the paired-bootstrap intervals, resamples, and their seed."""
    bootstrap_resamples: int = Field(default=4000, ge=100)
    """Gate: resamples of the paired bootstrap."""
    bootstrap_seed: int = 0
    """Gate: seed of the paired bootstrap (the same items give the same intervals)."""
    answer_tokens: int = Field(default=48, ge=1)
    """Answers shown side by side in the report: greedy, at most this many tokens."""
    judge_answers: bool = False
    """Also score knowledge leaves' answers with the teacher's faithfulness judge (one teacher
    label-scoring request per seed question and model); ROUGE-L recall is always computed.
    """
    benchmarks: tuple[str, ...] = ("mmlu", "arc_challenge", "hellaswag", "winogrande", "gsm8k")
    """lm-evaluation-harness benchmarks run on a new version when lm_eval is installed; () skips.
    Each is a task name of the harness, or a task file: a path ending in .yaml or .yml (relative
    to the repository root) of one task, e.g. over a local JSONL (`dataset_path: json`,
    `dataset_kwargs: {data_files: ...}`)
    """
    benchmark_limit: int | None = Field(default=None, ge=1)
    """At most this many items per benchmark task; None: all."""
    strict_documents: bool = False
    """A leaf whose documents cannot be fetched fails the whole run (true), instead of being
    skipped, reported and kept at its previous data (false)
    """
    launcher: tuple[str, ...] = ()
    """Run training as `<launcher> -m seedtree train ...` (several GPUs or nodes), e.g.
    ["torchrun", "--nproc_per_node", "8"]; () trains in the retrain process.
    """
    quiet: bool = False
    """No progress bars (CI logs)."""
    mcq_per_leaf: int = Field(default=0, ge=0)
    """Branch evaluation: multiple-choice questions the teacher writes from each changed
    knowledge leaf's document chunks, at most (held out, kept with the version's data, written
    again only when the leaf changes); 0: only the seed Q&A serve as multiple-choice items
    """
    judge_questions: int | None = Field(default=0, ge=0)
    """Branch evaluation: seed questions per leaf that both models answer and the teacher judges
    (pairwise, order swapped, and graded against the seed answer); None: all; 0: none (both cost
    teacher calls, so they are on where seedtree.yaml asks for them)
    """
    max_accuracy_drop: float | None = Field(default=None, ge=0.0)
    """Gate: an earlier leaf is forgotten when its multiple-choice accuracy falls by more than
    this many points (0.10: 10 points) even at the interval's upper bound; None: not checked
    """
    max_grade_drop: float | None = Field(default=None, ge=0.0)
    """Gate: an earlier leaf is forgotten when the judge's mean grade of its answers (0 to 1)
    falls by more than this even at the interval's upper bound; None: not checked
    """
    min_leaf_gain: float | None = None
    """Gate: a changed leaf did not learn when none of its own evaluations (multiple-choice
    accuracy, judged grade, pairwise wins minus losses) rose by more than this; None: not checked
    """
    min_gate_items: int = Field(default=5, ge=1)
    """Gate: a multiple-choice, judged-grade or benchmark criterion decides only on at least this
    many paired items; below it the report lists it as not decided (one item's interval is that
    item's own change, and no release should hinge on one answer)
    """
    max_benchmark_drop: float | None = Field(default=None, ge=0.0)
    """Gate: a general benchmark is lost when its score falls by more than this many points
    (0.02: 2 points) even at the interval's upper bound; both models run the same items; None:
    not checked
    """

    @field_validator("benchmarks")
    @classmethod
    def _named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in value):
            raise ValueError("an empty benchmark: give a task name or a task .yaml file")
        return value


class FmtConfig(_Section):
    """`fmt:` what `seedtree fmt` may change."""

    key_order: bool = Field(
        default=False,
        description="`seedtree fmt` also moves keys into the documented order and re-indents and "
        "re-wraps every leaf it formats (by default it keeps the author's order and changes only "
        "what `seedtree validate` reports: whitespace, indentation, the final newline, tabs)",
    )


DEFAULT_DOCUMENT_HOSTS = ("github.com", "gitlab.com", "huggingface.co", "codeberg.org")


class DocumentsConfig(_Section):
    """`documents:` where knowledge documents may come from, and the limits on fetching them."""

    allowed_hosts: tuple[str, ...] = DEFAULT_DOCUMENT_HOSTS
    """`document.repo` is "." (this repository) or an https:// URL on one of these hosts."""
    allowed_local: tuple[str, ...] = ()
    """Absolute folders whose git repositories may be named as `repo` (a path or a file:// URL):
    local mirrors of a private deployment; the trusted configuration's choice only.
    """
    max_patterns: int = Field(default=32, ge=1)
    """A leaf listing more `document.patterns` than this is refused (each one walks a tree)."""
    max_document_bytes: int = 10_000_000
    """A document larger than this is refused unread."""
    max_fetch_bytes: int = 500_000_000
    """A fetch is stopped past this many bytes."""
    fetch_timeout_s: float = 120.0
    """Seconds one fetch of a document repository may take."""
    fetch_budget_s: float = 600.0
    """All the fetching and tree listing of one run together stops after this many seconds."""
    max_entries: int = 100_000
    """A repository tree listing more entries than this is refused (nested trees sharing blobs)"""
    max_leaf_documents: int = Field(default=100, ge=1)
    """Distinct documents one leaf may resolve to; a file is counted by what it resolves to (its
    real path, or its git blob), so symlinks and paths naming one file count once.
    """
    max_leaf_bytes: int = Field(default=50_000_000, ge=1)
    """Bytes one leaf's documents may hold together (each one is read once)."""
    max_run_documents: int = Field(default=10_000, ge=1)
    """Distinct documents one command (a validate, a generate, a retrain) may read in all."""
    max_run_bytes: int = Field(default=2_000_000_000, ge=1)
    """Bytes the distinct documents one command reads may hold together."""

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(host.strip().lower().rstrip(".") for host in value)

    @field_validator("allowed_local")
    @classmethod
    def _absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        relative = [folder for folder in value if not os.path.isabs(folder)]
        if relative:
            raise ValueError(f"folders must be absolute paths: {relative}")
        return value


STORE_SCHEMES = ("file://", "s3://")


class ChatConfig(_Section):
    """Decoding of `seedtree chat` and of the report's answers (recorded in chat.json)."""

    repetition_penalty: float = Field(default=1.15, ge=1.0)
    """Greedy decoding from a small model repeats itself: penalise tokens already present (1.0:
    off) and forbid repeating any n-gram this long (0: off); mild, so that an answer may still
    reuse the question's words.
    """
    no_repeat_ngram_size: int = Field(default=6, ge=0)
    """No n-gram of this many tokens is repeated in an answer (0: off)."""
    temperature: float | None = Field(default=None, gt=0.0)
    """Sampling instead of greedy decoding when either is set."""
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    """Nucleus sampling (with `temperature`, or alone)."""

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of transformers' ``generate``."""
        out: dict[str, Any] = {
            "repetition_penalty": self.repetition_penalty,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "do_sample": self.temperature is not None or self.top_p is not None,
        }
        if out["do_sample"]:
            out.update(temperature=self.temperature or 1.0, top_p=self.top_p or 1.0)
        return out


class Config(_Section):
    taxonomy_dir: str = "taxonomy"
    """The taxonomy tree, relative to the repository root (the folder holding seedtree.yaml)"""
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    student: StudentConfig = Field(default_factory=StudentConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    preview: PreviewConfig = Field(default_factory=PreviewConfig)
    precheck: PrecheckConfig = Field(default_factory=PrecheckConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)
    fmt: FmtConfig = Field(default_factory=FmtConfig)
    documents: DocumentsConfig = Field(default_factory=DocumentsConfig)
    store: str | None = Field(
        default=None,
        description="Where released versions live, outliving the runner: a folder "
        "(file:///srv/seedtree-store or an absolute path) or S3-compatible object storage "
        "(s3://bucket/prefix; endpoint and credentials from AWS_ENDPOINT_URL, "
        "AWS_ACCESS_KEY_ID, ...). ${VAR} expands from the environment. None: versions stay "
        "only under $SEEDTREE_HOME.",
    )
    chat: ChatConfig = Field(default_factory=ChatConfig)

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("/", "$", *STORE_SCHEMES)):
            return value
        raise ValueError(
            f"'{value}' is neither an absolute folder nor a URL starting with "
            f"{' or '.join(STORE_SCHEMES)}"
        )


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2:
            raise ConfigError(
                f"environment variable {key}: expected {ENV_PREFIX}<SECTION>__<FIELD>"
            )
        out.setdefault(parts[0], {})[parts[1]] = yaml.safe_load(value)
    return out


def _merge(base: dict[str, Any], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = dict(base)
    for section, fields in extra.items():
        current = merged.get(section) or {}
        if not isinstance(current, dict):
            raise ConfigError(f"{CONFIG_FILE}: section '{section}' must be a mapping")
        merged[section] = {**current, **fields}
    return merged


def _read_file(path: Path) -> tuple[dict[str, Any], str]:
    """The file's sections and its text (kept to say where a bad value is written)."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if raw is None:
        return {}, text
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return raw, text


def _build(
    data: dict[str, Any], origin: str, where: Callable[[tuple[Any, ...]], str] | None = None
) -> Config:
    """Validate ``data``; each problem is named with ``where`` it was written, when known."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{origin}: invalid configuration"]
        for err in exc.errors():
            loc = tuple(err["loc"])
            place = f"{where(loc)}: " if where is not None else ""
            lines.append(f"  {place}{'.'.join(str(p) for p in loc)}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def _places(
    path: Path | None, text: str, env: dict[str, dict[str, Any]]
) -> Callable[[tuple[Any, ...]], str]:
    """Where the value at a field's location comes from: ``file:line:col`` or its variable."""

    def where(loc: tuple[Any, ...]) -> str:
        if len(loc) >= 2 and str(loc[1]) in env.get(str(loc[0]), {}):
            return f"environment {ENV_PREFIX}{str(loc[0]).upper()}__{str(loc[1]).upper()}"
        if path is None or not text:
            return "default"
        pos = parse_text(text, str(path)).locate(loc)
        return f"{path}:{pos.line}:{pos.column}"

    return where


def load_config(
    repo_root: Path | None,
    config_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Load ``config_file`` or ``<repo_root>/seedtree.yaml`` (if present), then the environment."""
    path = config_file or (repo_root / CONFIG_FILE if repo_root is not None else None)
    data: dict[str, Any] = {}
    text = ""
    if path is not None and (config_file is not None or path.is_file()):
        data, text = _read_file(path)
    env = _env_overrides(dict(os.environ if environ is None else environ))
    return _build(_merge(data, env), str(path or "configuration"), _places(path, text, env))


def with_overrides(config: Config, section: str, **fields: Any) -> Config:
    """A copy of ``config`` with CLI options applied to one section (``None`` values skipped)."""
    chosen = {k: v for k, v in fields.items() if v is not None}
    if not chosen:
        return config
    data = config.model_dump(by_alias=True)
    return _build(_merge(data, {section: chosen}), "command-line options")
