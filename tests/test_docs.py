"""The README and the documentation site: short, linked, complete, and built strictly."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

from helpers import PROJECT_ROOT
from seedtree.cli import app

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"


def _commands() -> list[str]:
    return list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_readme_stays_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


def test_every_command_has_a_readme_line_linking_its_page() -> None:
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `seedtree (\w+)` \|.*?\| (.+) \|$", README.read_text(), re.M)
    }
    assert sorted(rows) == sorted(_commands())
    for command, links in rows.items():
        pages = re.findall(r"\]\((docs/[\w-]+\.md)\)", links)
        assert pages, f"seedtree {command}: no documentation link"
        assert all((PROJECT_ROOT / page).is_file() for page in pages), pages


def test_readme_links_and_the_site_navigation_cover_every_page() -> None:
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", README.read_text()))
    assert all((DOCS / page).is_file() for page in linked)
    config = yaml.safe_load((PROJECT_ROOT / "mkdocs.yml").read_text())

    def pages(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, dict):
            return [p for v in nav.values() for p in pages(v)]
        assert isinstance(nav, list)
        return [p for v in nav for p in pages(v)]

    in_nav = set(pages(config["nav"]))
    assert in_nav == {p.name for p in DOCS.glob("*.md")}
    assert linked <= in_nav


def _mkdocs(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "mkdocs"
    if not exe.exists():
        pytest.skip("mkdocs is not installed (the dev extra)")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [str(exe), "build", "--strict", "--site-dir", str(root / "site")]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300, env=env)


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(PROJECT_ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    page = tmp_path / "docs" / "index.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md#nowhere).\n")
    done = _mkdocs(tmp_path)
    assert done.returncode != 0 and "missing.md" in done.stdout + done.stderr
