"""The in-process formatting rules report what yamllint's relaxed preset (as InstructLab runs it,
line length disabled) reports, line for line, on real leaves and on variants of them."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from helpers import CORPUS, SAMPLE_TAXONOMY
from seedtree.config import ValidateConfig
from seedtree.validate import formatting
from seedtree.validate.check import Target, _make_check
from seedtree.yamlpos import parse_text

yamllint_linter = pytest.importorskip("yamllint.linter")
yamllint_config = pytest.importorskip("yamllint.config")

RULES = {"trailing-spaces", "new-line-at-end-of-file", "empty-lines", "hyphens", "colons",
         "indentation"}  # fmt: skip
CONFIG = yamllint_config.YamlLintConfig("{extends: relaxed, rules: {line-length: disable}}")
TARGET = Target(Path("/nowhere/compositional_skills/a/b/qna.yaml"), "f", Path("/nowhere"))


def _variant(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        choice = rng.randrange(7)
        if choice == 0:
            lines[i] += " " * rng.randint(1, 2)
        elif choice == 1:
            lines.insert(i, "")
        elif choice == 2:
            lines[i] = re.sub(r"^(\s*)- ", r"\1-   ", lines[i])
        elif choice == 3:
            lines[i] = re.sub(r"^(\s*[\w]+):( |$)", r"\1 :\2", lines[i])
        elif choice == 4:
            lines[i] = re.sub(r"^(\s*[\w]+): (\S)", r"\1:   \2", lines[i])
        elif choice == 5:
            lines[i] = "  " + lines[i]
        else:
            lines[i] = lines[i][2:] if lines[i].startswith("    ") else lines[i]
    out = "\n".join(lines)
    return out.rstrip("\n") if rng.random() < 0.2 else out


def _ours(text: str) -> set[tuple[int, str]] | None:
    parsed = parse_text(text, "f")
    if not parsed.ok:
        return None
    check = _make_check(TARGET, parsed, ValidateConfig())
    check = check.__class__(**{**check.__dict__, "version": 3})
    found = [*formatting.lines_rules(check), *formatting.token_rules(check)]
    return {(f.line, f.rule) for f in found if f.rule in RULES}


def _theirs(text: str) -> set[tuple[int, str]]:
    return {(p.line, p.rule) for p in yamllint_linter.run(text, CONFIG) if p.rule in RULES}


def test_same_findings_as_yamllint() -> None:
    files = sorted(SAMPLE_TAXONOMY.rglob("qna.yaml"))
    variants = 8  # with the corpus: 8 variants of every 8th real leaf too
    if CORPUS.exists():
        files += sorted(CORPUS.rglob("qna.yaml"))[::8]
    else:  # the sample taxonomy alone: more variants of each of its leaves
        variants = 40
    compared = 0
    for index, path in enumerate(files):
        text = path.read_text()
        for seed in range(variants):
            variant = text if seed == 0 else _variant(text, random.Random(seed * 1000 + index))
            ours = _ours(variant)
            if ours is None:  # not YAML: yamllint reports a syntax error, we yaml-syntax
                continue
            assert ours == _theirs(variant), (path, seed)
            compared += 1
    assert compared > 40
