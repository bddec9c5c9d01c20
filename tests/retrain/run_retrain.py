"""Run ``seedtree retrain`` in this process with the scripted teacher (for subprocess tests).

Usage: python run_retrain.py REPO [--no-wait]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrain.scripted import factory
from seedtree.cli import _print_error
from seedtree.errors import SeedtreeError
from seedtree.project import open_project
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options


def main() -> int:
    repo = Path(sys.argv[1])
    options = Options(quiet=True, wait="--no-wait" not in sys.argv)
    try:
        return retrain(open_project(repo), options, teacher_factory=factory)
    except SeedtreeError as exc:
        _print_error(exc)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
