from __future__ import annotations

from pathlib import Path

import pytest

from seedtree.errors import UsageError
from seedtree.generate.prompts import SHIPPED_DIR, Prompts

TEMPLATES = sorted(p.stem for p in SHIPPED_DIR.glob("*.j2"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_shipped_template_has_a_version_and_judges_have_labels(name: str) -> None:
    template = Prompts().get(name)
    assert template.version
    assert template.tag.startswith(f"{name}@{template.version}#")
    if name.startswith("judge_"):
        assert template.labels and set(template.accept) < set(template.labels)


def test_an_override_folder_replaces_one_template_and_changes_its_tag(tmp_path: Path) -> None:
    (tmp_path / "judge_safety.j2").write_text(
        '---\nversion: 7\nlabels: ["ok", "bad"]\naccept: ["ok"]\n---\nIs "{{ question }}" ok?\n'
    )
    shipped, custom = Prompts(), Prompts(tmp_path)
    assert custom.get("judge_safety").labels == ("ok", "bad")
    assert custom.get("judge_safety").tag.startswith("judge_safety@7#")
    assert custom.render("judge_safety", question="Why?") == 'Is "Why?" ok?'
    assert custom.get("answer") == shipped.get("answer")


def test_bad_templates_say_what_and_where(tmp_path: Path) -> None:
    (tmp_path / "answer.j2").write_text("no front matter\n")
    with pytest.raises(UsageError, match=r"answer\.j2.*front matter"):
        Prompts(tmp_path).get("answer")
    (tmp_path / "answer.j2").write_text("---\nversion: 1\n---\n{{ missing }}\n")
    with pytest.raises(UsageError, match="cannot render"):
        Prompts(tmp_path).render("answer")
    with pytest.raises(UsageError, match="not a folder"):
        Prompts(tmp_path / "absent")
