"""A leaf folder named with Markdown, HTML, mentions, fake verdicts, escape sequences and a
workflow command: whatever seedtree writes about it (the retrain report and the summary posted
to the merged pull request, the model card, terminal and log output) holds it as inert text.

The leaf is committed to a real repository and planned by the real retrain planner; the
Markdown is rendered with CommonMark and read back as GitHub would post-process it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from attacks import run_cli

from helpers import PROJECT_ROOT, git
from preview.mdrender import render
from seedtree.evaluation.evidence import Evaluation
from seedtree.project import open_project
from seedtree.retrain.card import write_card
from seedtree.retrain.plan import make_plan
from seedtree.retrain.report import ReportInput, write_report, write_skipped_note
from seedtree.retrain.results import GateRecord, Generation, Prepared, Training
from seedtree.retrain.state import Options, Plan
from seedtree.versions.lineage import Lineage

NAME = (
    "evil ![x](x.png) [gate passed](evil.example) @octocat #1 **Gate passed** "
    "<img src=x onerror=alert(1)> www.evil.example `c` | cell\n::error::pwned "
    "\x1b]8;;https:\\\\evil\x07click\x1b]8;;\x07 \x1b[2J"
)
LEAF = f"compositional_skills/{NAME}"
LICENSE = "[MIT](evil.example) @octocat ![i](i.png) **Passed**"
OLD_LEAF = "compositional_skills/math/unit_conversion"
OLD_JOURNAL = PROJECT_ROOT / "tests" / "retrain" / "data" / "journal_v0.json"


@pytest.fixture
def hostile(make_repo: Callable[..., Path]) -> Path:
    """A repository whose merged leaf is named :data:`NAME` (a copy of a sample skill)."""
    repo = make_repo()
    shutil.copytree(PROJECT_ROOT / "training", repo / "training")
    (repo / "seedtree.yaml").write_text(
        "taxonomy_dir: taxonomy\ngenerate:\n  tokenizer: whitespace\n", encoding="utf-8"
    )
    folder = repo / "taxonomy" / LEAF
    shutil.copytree(repo / "taxonomy" / OLD_LEAF, folder)
    (folder / "attribution.txt").write_text(
        f"Title of work: {NAME.splitlines()[0]}\nLicense of the work: {LICENSE}\n",
        encoding="utf-8",
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a leaf with a name")
    return repo


def _assert_inert(markdown: str) -> None:
    out = render(markdown)
    images = re.findall(r'<img src="([^"]*)"', out.html)
    assert "a" not in out.tags and all(src.startswith("plots/") for src in images), out.html
    assert out.linkable() == [], out.linkable()
    assert "<strong>Gate passed</strong>" not in out.html
    assert "<strong>Passed</strong>" not in out.html
    assert not [line for line in markdown.splitlines() if line.lstrip().startswith("::")]
    assert "\x1b" not in markdown and "\x07" not in markdown


def _results(plan: Plan) -> ReportInput:
    """The step results of a recorded run, its leaf renamed to the hostile one."""
    raw = OLD_JOURNAL.read_text(encoding="utf-8").replace(OLD_LEAF, json.dumps(LEAF)[1:-1])
    old = json.loads(raw)
    gate = GateRecord.model_validate(old["gate"])
    reasons = (*gate.decision.reasons, f"forgot {LEAF}: loss rose")
    decision = gate.decision.model_copy(update={"forgotten": {LEAF: 0.2}, "reasons": reasons})
    return ReportInput(
        version=plan.version,
        plan=replace(plan, generate={**plan.generate, LEAF: "added"}),
        generation=Generation.model_validate(old["generate"]),
        prepared=Prepared.model_validate(old["prepare"]),
        training=Training.model_validate(old["train"]),
        evaluation=Evaluation.model_validate(old["evaluate"]),
        decision=decision,
        override=None,
        seconds={"generate": 1.0},
    )


def test_report_and_summary_hold_the_name_as_text(hostile: Path, tmp_path: Path) -> None:
    plan = make_plan(open_project(hostile), Options(dry_run=True))
    assert LEAF in plan.skipped  # the real planner saw the leaf (its license is not allowed)
    report = write_report(_results(plan), tmp_path / "report")
    written = [report, report.parent / "summary.md"]
    note = write_skipped_note(asdict(_results(plan).plan), tmp_path / "skipped")
    for path in [*written, note]:
        markdown = path.read_text(encoding="utf-8")
        assert "octocat" in markdown and "evil.example" in markdown  # shown, as text
        _assert_inert(markdown)


def test_model_card_holds_name_and_license_as_text(hostile: Path, tmp_path: Path) -> None:
    lineage = Lineage.model_validate(
        {
            "version": "v1",
            "commit": "a" * 40,
            "previous": None,
            "base_model": "default",
            "leaves": {LEAF: "h1", OLD_LEAF: "h2"},
            "trained": {LEAF: "h1"},
            "removed": [],
            "renamed": {},
            "data_hash": "d" * 64,
            "recipe_hash": "r" * 16,
            "metrics": {"loss_before": {LEAF: 2.0}, "loss_after": {LEAF: 1.5}},
            "gate": {
                "passed": False,
                "reasons": [f"forgot {LEAF}"],
                "learned": {LEAF: 0.25},
                "forgotten": {LEAF: 0.1},
                "min_learning": 0.01,
                "max_forgetting": 0.05,
            },
            "created_at": "2026-01-01T00:00:00+00:00",
        }
    )
    card = write_card(tmp_path / "v1", lineage, hostile / "taxonomy").read_text(encoding="utf-8")
    body = card.split("---\n", 2)[2]
    assert "octocat" in body and "MIT" in body
    _assert_inert(body)


def _assert_terminal_safe(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output
    assert not [line for line in output.splitlines() if line.lstrip().startswith("::")], output


@pytest.mark.parametrize(
    "args",
    [
        ["retrain", "--dry-run"],
        ["generate", "--dry-run", f"taxonomy/{LEAF}"],
        ["validate"],
        ["validate", f"taxonomy/{LEAF}/missing.yaml"],  # an error message naming the path
    ],
)
def test_terminal_and_log_output_is_inert(hostile: Path, args: list[str]) -> None:
    run = run_cli(hostile, *args)
    assert "Traceback" not in run.output
    assert "\\x1b[2J" in run.output, run.output  # the name was printed, escaped
    _assert_terminal_safe(run.output)


def test_fmt_names_a_file_it_cannot_fix_inertly(hostile: Path) -> None:
    qna = hostile / "taxonomy" / LEAF / "qna.yaml"
    qna.write_text(qna.read_text(encoding="utf-8") + "bad: [\n", encoding="utf-8")
    run = run_cli(hostile, "fmt", "--check")
    assert run.code == 1 and "\\n::error::pwned \\x1b" in run.output, run.output
    _assert_terminal_safe(run.output)
