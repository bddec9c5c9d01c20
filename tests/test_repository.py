"""What the repository itself holds: no binary file over 1 MB is tracked (wheels, models and
caches live outside git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import PROJECT_ROOT

LIMIT = 1 << 20  # bytes


def tracked_binaries(repo: Path, limit: int = LIMIT) -> list[str]:
    """Tracked files over ``limit`` bytes that hold a NUL byte in their first 8 KiB."""
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    found = []
    for name in filter(None, listed.split("\0")):
        path = repo / name
        if path.is_symlink() or not path.is_file() or path.stat().st_size <= limit:
            continue
        with path.open("rb") as handle:
            if b"\0" in handle.read(8192):
                found.append(name)
    return found


def test_no_tracked_binary_over_1_mb() -> None:
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert tracked_binaries(PROJECT_ROOT) == []


def test_the_check_finds_a_large_binary_and_passes_large_text(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "model.whl").write_bytes(b"PK\3\4" + b"\0" * (LIMIT + 1))
    (tmp_path / "small.bin").write_bytes(b"\0" * 100)
    (tmp_path / "big.md").write_text("text line\n" * (LIMIT // 10 + 10))
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    assert tracked_binaries(tmp_path) == ["model.whl"]
