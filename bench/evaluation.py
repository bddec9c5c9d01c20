"""What does the branch evaluation cost per leaf? Against the loss evaluation it sits beside.

On the demo's leaves (``tooling/seedtree/data/demo``: tides, knowledge; antonyms, a skill), with
the embedded SmolLM2-135M as both student models (previous and new: the cost does not depend on
their weights) and as the teacher, in a fresh answer store (nothing cached): multiple-choice
scoring of every seed item by both models, both models answering ``--questions`` seed questions
per leaf, and the teacher judging them in both orders and grading each. The baseline is what the
evaluate step already spends per leaf: both models' losses on its seed Q&A.

Run: ``.venv/bin/python bench/evaluation.py [--questions 2] [--dtype float32]`` (``float32``: the
teacher's path on a CPU without native bfloat16, on any CPU). Ends with ``RESULT`` lines: the
seconds of the branch evaluation per leaf (target: under 30 s on 2 cores, so that the demo's
versions stay within their budget); its ratio to the loss evaluation is printed above it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from seedtree.config import Config, TeacherConfig
from seedtree.evaluation.branch import BranchItems, Models, evaluate_branch
from seedtree.evaluation.teacher_calls import CachedTeacher
from seedtree.generate.prompts import Prompts
from seedtree.generate.store import AnswerStore
from seedtree.models import resolve_model
from seedtree.taxonomy.leaves import load_leaf
from seedtree.teacher import create_teacher
from seedtree.teacher.precision import cpu_description
from seedtree.train.evaluate import load_for_eval, score_items

DEMO = Path(__file__).resolve().parent.parent / "tooling" / "seedtree" / "data" / "demo"
TARGET_S = 30.0
BUDGET = 1024


def _seeds() -> dict[str, list[tuple[str, str]]]:
    out = {}
    for name in ("tides", "antonyms"):
        leaf = load_leaf(DEMO / name / "qna.yaml", DEMO)
        out[name] = [(qa.question, qa.answer) for qa in leaf.seed_questions]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--dtype", choices=("auto", "float32", "bfloat16"), default="auto")
    args = parser.parse_args()
    print(f"cpu: {cpu_description()}", flush=True)  # every figure below ran on it
    seeds = _seeds()
    model = load_for_eval(resolve_model("default"), template="chat", system_prompt="Be brief.")
    started = time.monotonic()
    for _ in range(2):  # the previous model and the new one
        score_items(model, {}, seeds, BUDGET)
    loss_s = time.monotonic() - started
    config = Config.model_validate({"retrain": {"judge_questions": args.questions}})
    with tempfile.TemporaryDirectory() as tmp:
        teacher = create_teacher(TeacherConfig(dtype=args.dtype))
        store = AnswerStore(Path(tmp) / "answers.sqlite")
        items = BranchItems({leaf: leaf for leaf in seeds}, seeds, Path(tmp))
        started = time.monotonic()
        branch = evaluate_branch(
            Models(model, model, BUDGET),
            items,
            config,
            Prompts(),
            lambda: CachedTeacher(teacher, store),
        )
        branch_s = time.monotonic() - started
        teacher.close()
        store.close()
    per_leaf = branch_s / len(seeds)
    print(f"leaves {len(seeds)}, teacher calls {branch.teacher_calls}")
    ratio = branch_s / max(loss_s, 1e-9)
    print(f"loss evaluation (both models): {loss_s:.1f} s; branch: {branch_s:.1f} s ({ratio:.1f}x)")
    verdict = "ok" if per_leaf <= TARGET_S else "short"
    print(f"RESULT branch_eval_s_per_leaf={per_leaf:.1f} target={TARGET_S:g} {verdict}")


if __name__ == "__main__":
    main()
