"""``seedtree migrate``: skills upgraded in place, knowledge told exactly what to add."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from helpers import SAMPLE_TAXONOMY, corpus_or_skip
from seedtree.authoring.migrate import migrate_text
from seedtree.cli import run

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HAIKU = SAMPLE_TAXONOMY / "compositional_skills/writing/poetry/haiku/qna.yaml"
BICYCLE = SAMPLE_TAXONOMY / "knowledge/history/technology/bicycle/qna.yaml"


def _as_version(text: str, version: int) -> str:
    return text.replace("version: 3\n", f"version: {version}  # the old format\n", 1)


def test_v2_skill_changes_only_its_version(tmp_path: Path) -> None:
    leaf = tmp_path / "compositional_skills/writing/haiku/qna.yaml"
    leaf.parent.mkdir(parents=True)
    old = _as_version(HAIKU.read_text(encoding="utf-8"), 2)
    leaf.write_text(old, encoding="utf-8")
    assert run(["migrate", str(tmp_path)]) == 0
    assert leaf.read_text(encoding="utf-8") == old.replace("version: 2  #", "version: 3  #")


def test_corpus_v1_skills_gain_a_version_line_and_nothing_else(tmp_path: Path) -> None:
    source = corpus_or_skip("instructlab-taxonomy-2024-08")
    tree = tmp_path / "tree"
    shutil.copytree(source / "compositional_skills", tree / "compositional_skills")
    before = {p: p.read_text(encoding="utf-8") for p in tree.rglob("qna.yaml")}
    code = run(["migrate", str(tree)])
    assert code in (0, 1)  # 1 when some leaf also needs more seed examples by hand
    for path, old in before.items():
        new = path.read_text(encoding="utf-8")
        old_data, new_data = yaml.load(old, Loader=LOADER), yaml.load(new, Loader=LOADER)
        assert new_data.pop("version") == 3, path
        old_data.pop("version", None)
        assert new_data == old_data, path
        kept = [line for line in new.splitlines() if not line.startswith("version: ")]
        assert kept == [line for line in old.splitlines() if not line.startswith("version: ")]


def test_too_few_seeds_are_reported_after_migrating(tmp_path: Path) -> None:
    data = yaml.safe_load(HAIKU.read_text(encoding="utf-8"))
    text = "created_by: someone\ntask_description: haiku\nseed_examples:\n"
    text += "".join(
        f"  - question: {s['question'].strip()!r}\n    answer: x{i}\n"
        for i, s in enumerate(data["seed_examples"][:2])
    )
    path = tmp_path / "compositional_skills/x/qna.yaml"
    result = migrate_text(text, path, "x.yaml", to=3)
    assert result.text == "version: 3\n" + text
    assert [(t.line, t.rule) for t in result.todo] == [(3, "migrate-seed-count")]
    assert "add 3 more seed examples" in result.todo[0].message


def _knowledge_v1() -> str:
    """The sample bicycle leaf written the v1 way: flat Q&A, task_description, short commit."""
    data = yaml.safe_load(BICYCLE.read_text(encoding="utf-8"))
    pairs = [qa for seed in data["seed_examples"] for qa in seed["questions_and_answers"]][:5]
    lines = ["created_by: someone", "domain: history", "seed_examples:"]
    for qa in pairs:
        lines += [
            f"  - question: {qa['question'].strip()!r}",
            f"    answer: {qa['answer'].strip()!r}",
        ]
    lines += [
        "task_description: bicycles",
        "document:",
        "  repo: https://example.invalid/docs.git",
        "  commit: 1a2b3c4",
        "  patterns:",
        "    - bicycle.md",
    ]
    return "\n".join(lines) + "\n"


def test_knowledge_v1_lists_each_step_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = tmp_path / "knowledge/history/bicycle/qna.yaml"
    leaf.parent.mkdir(parents=True)
    text = _knowledge_v1()
    leaf.write_text(text, encoding="utf-8")
    assert run(["migrate", str(tmp_path)]) == 1
    assert leaf.read_text(encoding="utf-8") == text  # knowledge is never rewritten
    out = capsys.readouterr().out
    lines = text.splitlines()
    expected = {
        "set `version: 3`": 1,
        "add `document_outline:`": 3,  # right after `domain` (line 2)
        "remove `task_description`": lines.index("task_description: bicycles") + 1,
        "pin the document": lines.index("  commit: 1a2b3c4") + 1,
        "restructure `seed_examples`": 3,
    }
    for what, line in expected.items():
        assert any(f"qna.yaml:{line}: {what}" in o for o in out.splitlines()), (what, out)
    assert "lines 4, 6, 8, 10, 12" in out


def test_corpus_knowledge_v1_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    source = corpus_or_skip("instructlab-taxonomy-2024-08") / "knowledge"
    assert run(["migrate", "--dry-run", str(source)]) == 1
    out = capsys.readouterr().out
    assert "document_outline" in out and "restructure `seed_examples`" in out
    assert "pin the document" not in out  # the corpus leaf already pins a full SHA


def test_sample_taxonomy_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["migrate", "--dry-run", str(SAMPLE_TAXONOMY)]) == 0
    assert "0 would migrate, 0 need changes by hand" in capsys.readouterr().out


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    leaf = tmp_path / "qna.yaml"
    leaf.write_text("version: 2\n", encoding="utf-8")
    assert run(["migrate", "--to", "2", str(leaf)]) == 2
    assert leaf.read_text(encoding="utf-8") == "version: 2\n"


def test_broken_yaml_is_reported_not_rewritten(tmp_path: Path) -> None:
    leaf = tmp_path / "compositional_skills/x/qna.yaml"
    leaf.parent.mkdir(parents=True)
    leaf.write_text("created_by: [x\n", encoding="utf-8")
    assert run(["migrate", str(tmp_path)]) == 1
    assert leaf.read_text(encoding="utf-8") == "created_by: [x\n"


def test_corpus_skills_todo_explains_every_new_schema_error(tmp_path: Path) -> None:
    """After migrating, each file the validator rejects on the v3 schema (for a reason other than
    duplicates it already had) is a file that migrate listed work for, and vice versa."""
    from seedtree.authoring.migrate import migrate_file
    from seedtree.config import ValidateConfig
    from seedtree.validate.api import validate_paths

    source = corpus_or_skip("instructlab-taxonomy-2024-08") / "compositional_skills"
    tree = tmp_path / "compositional_skills"
    shutil.copytree(source, tree)
    files = sorted(tree.rglob("qna.yaml"))[::3]
    told = {p.resolve() for p in files if migrate_file(p, to=3).todo}
    findings = validate_paths(files, config=ValidateConfig()).findings
    rejected = {
        Path(f.file).resolve()
        for f in findings
        if f.rule == "schema" and "must be different" not in f.message
    }
    assert told and rejected == told
