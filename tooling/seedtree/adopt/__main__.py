"""``python -m seedtree.adopt ROOT``: rewrite this repository's workflows and hook configuration
from the templates (``make workflows``); the tests fail when they differ."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from seedtree.adopt.render import self_files
from seedtree.atomic import write_text


def main(root: Path) -> int:
    published = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for rel, text in self_files(published).items():
        write_text(root / rel, text)
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
