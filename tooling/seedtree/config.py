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
    # gate: mean relative drop of held-out loss over the changed leaves must reach this
    min_learning: float = 0.01
    # gate: no earlier leaf's held-out loss may rise by more than this fraction
    max_forgetting: float = 0.05
    # lm-evaluation-harness tasks run on a new version when lm_eval is installed; () skips
    benchmarks: tuple[str, ...] = ("mmlu", "arc_challenge", "hellaswag", "winogrande", "gsm8k")
    benchmark_limit: int | None = None
    # run training as `<launcher> -m seedtree train ...` (several GPUs or nodes), e.g.
    # ["torchrun", "--nproc_per_node", "8"]; () trains in the retrain process
    launcher: tuple[str, ...] = ()
    quiet: bool = False


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

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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
