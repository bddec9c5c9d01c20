"""One typed configuration: ``seedtree.yaml`` at the taxonomy repository root.

Precedence, lowest first: defaults declared here, the file, environment variables
``SEEDTREE__<SECTION>__<FIELD>`` (e.g. ``SEEDTREE__TEACHER__BACKEND=openai``), then CLI options
(applied by the CLI through :func:`with_overrides`). Every default is declared once, here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seedtree.errors import ConfigError

V = TypeVar("V")
CONFIG_FILE = "seedtree.yaml"
ENV_PREFIX = "SEEDTREE__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _over_defaults(value: dict[str, V], defaults: dict[str, V], what: str) -> dict[str, V]:
    """``value`` over ``defaults`` (keys left out keep their default); unknown keys refused."""
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; known: {sorted(defaults)}")
    return {**defaults, **value}


class ValidateConfig(_Section):
    allowed_licenses: tuple[str, ...] = (
        "CC0-1.0",
        "CDLA-Permissive-2.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "Apache-2.0",
        "MIT",
    )
    max_context_words: int = 500
    max_qa_words: int = 250
    # larger qna.yaml files are refused unread (documents may be 10 times larger)
    max_file_bytes: int = 1_000_000
    # findings the tree already had (written by `seedtree init`): reported as known, never
    # failing; a path relative to the repository root
    baseline: str | None = None


class TeacherConfig(_Section):
    backend: Literal["embedded", "openai", "vllm"] = "embedded"
    # "default" is the embedded SmolLM2-135M-Instruct; otherwise a local HF folder or a
    # model name known to the server.
    model: str = "default"
    base_urls: tuple[str, ...] = ()
    api_key_env: str = "OPENAI_API_KEY"
    max_in_flight: int = 16
    timeout_s: float = 120.0
    max_retries: int = 5
    retry_backoff_s: float = 0.5
    batch_size: int = 16
    device: str = "auto"
    tensor_parallel_size: int = 1
    truncate_prompts: bool = False
    score_top_logprobs: int = 20


class StudentConfig(_Section):
    model: str = "default"


JUDGE_THRESHOLDS = {
    "question": 0.5,
    "pair": 0.5,
    "faithfulness": 0.5,
    "relevancy": 0.5,
    "knowledge_question": 0.5,
    "safety": 0.5,
}


# what the preview's stages ask for at most (measured on the embedded teacher: bench/preview.py;
# a seed context is about 120 tokens, five short questions or Q&A pairs about 100 to 150)
PREVIEW_MAX_TOKENS = {
    "contexts": 160,
    "questions": 128,
    "grounded_questions": 128,
    "answer": 128,
    "knowledge_qa": 160,
}


class GenerateConfig(_Section):
    # accepted samples wanted per leaf; generation stops earlier only at the attempt cap
    samples_per_leaf: int = 30
    # attempt cap: at most ceil(samples * factor / questions_per_prompt) generation prompts a leaf
    max_attempts_factor: float = 4.0
    # candidates asked for in one generation prompt (questions, or knowledge Q&A pairs)
    questions_per_prompt: int = 5
    # near-duplicate when ROUGE-L F1 with a seed or an earlier candidate reaches this
    rouge_threshold: float = 0.7
    seeds_per_prompt: int = 3
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    # knowledge chunking, in tokens of `tokenizer`
    chunk_tokens: int = 400
    chunk_overlap: int = 50
    # model whose tokenizer counts chunk tokens (the student's); "whitespace" counts words
    tokenizer: str = "default"
    # answers longer than this many words are tagged "long", others "short"
    long_answer_words: int = 50
    # a judge passes a candidate when the probability of its passing labels reaches this
    # (judges left out of seedtree.yaml keep these defaults)
    judge_thresholds: dict[str, float] = Field(default_factory=lambda: dict(JUDGE_THRESHOLDS))
    # requests per planned teacher batch (fixed from the whole run, across leaves)
    batch_requests: int = 64
    # folder of prompt templates overriding the shipped ones (relative to the repository root)
    prompts_dir: str | None = None
    quiet: bool = False

    @field_validator("judge_thresholds")
    @classmethod
    def _known_judges(cls, value: dict[str, float]) -> dict[str, float]:
        return _over_defaults(value, JUDGE_THRESHOLDS, "judge")


class PreviewConfig(_Section):
    # candidates generated and shown per changed leaf, each carried through every stage and judge
    # (the verdict at generate.judge_thresholds is shown, not used to drop it)
    samples: int = 3
    # attempt cap of the preview's generation (generate.max_attempts_factor is for full runs):
    # a preview shows what the teacher makes of a leaf, it does not insist on the full count
    max_attempts_factor: float = 2.0
    # new tokens per request of a stage, at most generate.max_tokens (stages left out use that)
    max_tokens: dict[str, int] = Field(default_factory=lambda: dict(PREVIEW_MAX_TOKENS))
    # knowledge: chunks used from each document (the full-run estimate still counts them all)
    chunks_per_document: int = Field(default=1, ge=1)

    @field_validator("max_tokens")
    @classmethod
    def _known_stages(cls, value: dict[str, int]) -> dict[str, int]:
        if any(v < 1 for v in value.values()):
            raise ValueError("every stage needs at least 1 new token")
        return _over_defaults(value, PREVIEW_MAX_TOKENS, "stage")


class TrainConfig(_Section):
    recipe: str = "training/recipe.yaml"
    deepspeed: str | None = None


class RetrainConfig(_Section):
    # the model v1 starts from (and any later --base-model); None: student.model
    base_model: str | None = None
    # training recipe for retraining; None: train.recipe
    recipe: str | None = None
    # gate: the mean relative loss drop over the changed leaves must reach this (and the lower
    # bound of its interval must be above zero)
    min_learning: float = Field(default=0.01, ge=0.0)
    # gate: an earlier leaf is forgotten when the lower bound of its loss rise exceeds this
    max_forgetting: float = Field(default=0.05, ge=0.0)
    # gate: two-sided confidence of the paired-bootstrap intervals, resamples, and their seed
    confidence: float = Field(default=0.9, gt=0.0, lt=1.0)
    bootstrap_resamples: int = Field(default=4000, ge=100)
    bootstrap_seed: int = 0
    # answers shown side by side in the report: greedy, at most this many tokens
    answer_tokens: int = Field(default=48, ge=1)
    # also score knowledge leaves' answers with the teacher's faithfulness judge (one teacher
    # label-scoring request per seed question and model); ROUGE-L recall is always computed
    judge_answers: bool = False
    # lm-evaluation-harness benchmarks run on a new version when lm_eval is installed; () skips.
    # Each is a task name of the harness, or a task file: a path ending in .yaml or .yml
    # (relative to the repository root) of one task, e.g. over a local JSONL
    # (`dataset_path: json`, `dataset_kwargs: {data_files: ...}`)
    benchmarks: tuple[str, ...] = ("mmlu", "arc_challenge", "hellaswag", "winogrande", "gsm8k")
    # at most this many items per benchmark task; None: all
    benchmark_limit: int | None = Field(default=None, ge=1)
    # a leaf whose documents cannot be fetched fails the whole run (true), instead of being
    # skipped, reported and kept at its previous data (false)
    strict_documents: bool = False
    # run training as `<launcher> -m seedtree train ...` (several GPUs or nodes), e.g.
    # ["torchrun", "--nproc_per_node", "8"]; () trains in the retrain process
    launcher: tuple[str, ...] = ()
    quiet: bool = False

    @field_validator("benchmarks")
    @classmethod
    def _named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in value):
            raise ValueError("an empty benchmark: give a task name or a task .yaml file")
        return value


class FmtConfig(_Section):
    key_order: bool = Field(
        default=False,
        description="`seedtree fmt` also moves keys into the documented order and re-indents and "
        "re-wraps every leaf it formats (by default it keeps the author's order and changes only "
        "what `seedtree validate` reports: whitespace, indentation, the final newline, tabs)",
    )


DEFAULT_DOCUMENT_HOSTS = ("github.com", "gitlab.com", "huggingface.co", "codeberg.org")


class DocumentsConfig(_Section):
    # `document.repo` is "." (this repository) or an https:// URL on one of these hosts
    allowed_hosts: tuple[str, ...] = DEFAULT_DOCUMENT_HOSTS
    # absolute folders whose git repositories may be named as `repo` (a path or a file:// URL):
    # local mirrors of a private deployment; the trusted configuration's choice only
    allowed_local: tuple[str, ...] = ()
    # a document larger than this is refused unread
    max_document_bytes: int = 10_000_000
    # a fetch is stopped past this many bytes or seconds
    max_fetch_bytes: int = 500_000_000
    fetch_timeout_s: float = 120.0
    # all the fetching and tree listing of one run together stops after this many seconds
    fetch_budget_s: float = 600.0
    # a repository tree listing more entries than this is refused (nested trees sharing blobs)
    max_entries: int = 100_000

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

    # greedy decoding from a small model repeats itself: penalise tokens already present
    # (1.0: off) and forbid repeating any n-gram this long (0: off); mild, so that an answer
    # may still reuse the question's words
    repetition_penalty: float = Field(default=1.15, ge=1.0)
    no_repeat_ngram_size: int = Field(default=6, ge=0)
    # sampling instead of greedy decoding when either is set
    temperature: float | None = Field(default=None, gt=0.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)

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
    # the taxonomy tree, relative to the repository root (the folder holding seedtree.yaml)
    taxonomy_dir: str = "taxonomy"
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    student: StudentConfig = Field(default_factory=StudentConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    preview: PreviewConfig = Field(default_factory=PreviewConfig)
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

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

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


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return raw


def _build(data: dict[str, Any], origin: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{origin}: invalid configuration"]
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def load_config(
    repo_root: Path | None,
    config_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Load ``config_file`` or ``<repo_root>/seedtree.yaml`` (if present), then the environment."""
    path = config_file or (repo_root / CONFIG_FILE if repo_root is not None else None)
    data: dict[str, Any] = {}
    if path is not None and (config_file is not None or path.is_file()):
        data = _read_file(path)
    env = _env_overrides(dict(os.environ if environ is None else environ))
    return _build(_merge(data, env), str(path or "configuration"))


def with_overrides(config: Config, section: str, **fields: Any) -> Config:
    """A copy of ``config`` with CLI options applied to one section (``None`` values skipped)."""
    chosen = {k: v for k, v in fields.items() if v is not None}
    if not chosen:
        return config
    data = config.model_dump(by_alias=True)
    return _build(_merge(data, {section: chosen}), "command-line options")
