"""Damaged input never escapes as an exception, never hangs, and every finding is located."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from fuzz_support import check_case, make_tree, watchdog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import HOSTILE_PATTERNS, HOSTILE_REPOS, mutate

from helpers import SAMPLE_TAXONOMY
from seedtree.config import ValidateConfig
from seedtree.taxonomy.globs import pattern_problem
from seedtree.validate.check import Target, check_file

CONFIG = ValidateConfig()
WATCHDOG_S = 20.0
SAMPLES = sorted(SAMPLE_TAXONOMY.rglob("qna.yaml"))
BICYCLE = "knowledge/history/technology/bicycle/qna.yaml"
ALLOWED_REPOS = {".", "./", "https://github.com/a/b"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("fuzz")
    return root, make_tree(root)


def _kind(sample: Path) -> str:
    return "knowledge" if "knowledge" in sample.parts else "skills"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.parent.name)
def test_mutated_sample_leaves(sample: Path, tree: tuple[Path, dict[str, Path]]) -> None:
    root, paths = tree
    text = sample.read_text()
    for seed in range(60):
        with watchdog(WATCHDOG_S):
            check_case(paths[_kind(sample)], mutate(text, seed), root, CONFIG)


_SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@pytest.mark.timeout(300)
@_SETTINGS
@given(raw=st.binary(max_size=3000))
def test_random_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with watchdog(WATCHDOG_S):
            check_case(make_tree(root)["skills"], raw, root, CONFIG)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(
            st.sampled_from(["version", "seed_examples", "question", "answer", "context", "x"]),
            inner,
            max_size=6,
        )
    ),
    max_leaves=40,
)


@pytest.mark.timeout(300)
@_SETTINGS
@given(value=_values, kind=st.sampled_from(["skills", "knowledge"]))
def test_generated_structures(value: object, kind: str) -> None:
    raw = yaml.safe_dump(value, allow_unicode=True).encode()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with watchdog(WATCHDOG_S):
            check_case(make_tree(root)[kind], raw, root, CONFIG)


@pytest.mark.timeout(300)
def test_hostile_document_blocks(tree: tuple[Path, dict[str, Path]]) -> None:
    """Every hostile repository and pattern of the fuzz set: a located finding, within the
    watchdog, and never accepted when it is forbidden or malformed."""
    root, paths = tree
    base = yaml.safe_load((SAMPLE_TAXONOMY / BICYCLE).read_text())
    for index, repo in enumerate(HOSTILE_REPOS):
        for pattern in HOSTILE_PATTERNS[index % 3 :: 3]:
            base["document"] = {"repo": repo, "commit": "0" * 40, "patterns": [pattern]}
            raw = yaml.safe_dump(base, sort_keys=False).encode()
            with watchdog(WATCHDOG_S):
                check_case(paths["knowledge"], raw, root, CONFIG)
            rules = {f.rule for f in check_file(Target(paths["knowledge"], "x", root), CONFIG)}
            assert ("document-repo" in rules) == (repo not in ALLOWED_REPOS), (repo, rules)
            assert ("document-pattern" in rules) == (pattern_problem(pattern) is not None)
