"""Generate the sample taxonomy of a repository with a slowed-down scripted teacher.

Usage: python run_scripted.py REPO OUT DELAY SAMPLES [STAGES] — prints the teacher calls it made
(STAGES: comma-separated completion stages the delay slows, default every request).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generate.scripted import ScriptedTeacher
from seedtree.config import GenerateConfig
from seedtree.generate.run import generate_leaves
from seedtree.taxonomy.leaves import load_taxonomy


def main() -> None:
    repo, out, delay, samples = (
        Path(sys.argv[1]),
        Path(sys.argv[2]),
        float(sys.argv[3]),
        int(sys.argv[4]),
    )
    slow = frozenset(sys.argv[5].split(",")) if len(sys.argv) > 5 else frozenset()
    teacher = ScriptedTeacher(delay=delay, slow=slow)
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=samples, batch_requests=16)
    leaves = load_taxonomy(repo / "taxonomy")
    generate_leaves(leaves, teacher, repo_root=repo, config=config, out_dir=out, quiet=True)
    print(teacher.total)


if __name__ == "__main__":
    main()
