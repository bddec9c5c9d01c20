"""CLI: cache commands (options only; the work is done by the library)."""

from __future__ import annotations

from seedtree.cli.app import app  # noqa: F401
