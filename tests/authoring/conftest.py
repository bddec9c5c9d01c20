"""Fixtures for the contributor commands' tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def yamllint() -> Callable[[str], list[str]]:
    """yamllint's `relaxed` preset as InstructLab applies it (line length not checked): the
    problems it finds in a text, as ``line:column rule description``."""
    linter = pytest.importorskip("yamllint.linter")
    config = pytest.importorskip("yamllint.config")
    conf = config.YamlLintConfig("extends: relaxed\nrules:\n  line-length: disable\n")

    def problems(text: str) -> list[str]:
        return [f"{p.line}:{p.column} {p.rule} {p.desc}" for p in linter.run(text, conf)]

    return problems
