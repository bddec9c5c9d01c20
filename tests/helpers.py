"""Helpers shared by the tests (import as ``from helpers import ...``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TAXONOMY = PROJECT_ROOT / "taxonomy"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _corpus() -> Path:
    """The shared real-world corpus beside the project; ``SEEDTREE_TEST_NO_CORPUS=1`` hides it,
    to check that the suite passes in a user's clone, where it is absent."""
    if os.environ.get("SEEDTREE_TEST_NO_CORPUS", "") not in ("", "0"):
        return PROJECT_ROOT / "tests" / "no-corpus"
    return PROJECT_ROOT.parent / "shared" / "corpus"


CORPUS = _corpus()


def corpus_or_skip(name: str = "") -> Path:
    """The shared real-world corpus (absent from a user's clone: skip cleanly)."""
    path = CORPUS / name if name else CORPUS
    if not path.exists():
        pytest.skip(f"corpus not present: {path}")
    return path


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; return stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout
