"""The retrain steps of the branch evaluation: write held-out questions, score both models.

``questions`` runs after ``prepare``: the changed knowledge leaves get the teacher's
multiple-choice items in ``prepared/evaluation/<leaf>.jsonl`` (unchanged leaves carry theirs over
from the previous version, so they are written again only when a leaf's content changes, and the
answer store makes a re-run free). ``evaluate`` then calls :func:`branch` with both loaded models.
"""

from __future__ import annotations

from pathlib import Path

from seedtree.evaluation.branch import BranchItems, Models, evaluate_branch
from seedtree.evaluation.branch_results import Branch
from seedtree.evaluation.choices import item_id, read_choices, write_choices
from seedtree.evaluation.mcq import LeafSource, write_mcqs
from seedtree.evaluation.teacher_calls import CachedTeacher
from seedtree.generate.chunking import token_counter
from seedtree.generate.prompts import Prompts
from seedtree.generate.run import leaf_chunks
from seedtree.generate.store import AnswerStore
from seedtree.retrain.results import Generation, Questions
from seedtree.retrain.state import Run, step
from seedtree.taxonomy.leaves import QNA, Leaf, load_leaf
from seedtree.teacher import Teacher
from seedtree.train.data import read_jsonl
from seedtree.train.evaluate import EvalModel
from seedtree.train.settings import taxonomy_seeds

EVALUATION = "evaluation"  # the folder of held-out multiple-choice items, in a version's data


def rename_items(source: Path, target: Path, new_id: str) -> None:
    """A renamed leaf's multiple-choice items, under its new id."""
    items = [
        item.model_copy(update={"leaf": new_id, "id": item_id(new_id, item.source, item.question)})
        for item in read_choices(source)
    ]
    write_choices(target, items)


def prompts_of(run: Run) -> Prompts:
    folder = run.project.config.generate.prompts_dir
    return Prompts(run.project.repo_root / folder if folder else None)


def _trained_questions(dataset: str | None) -> list[str]:
    """The user turns of a leaf's generated samples (what the items must not repeat)."""
    if dataset is None or not Path(dataset).is_file():
        return []
    found = []
    for _where, row in read_jsonl(Path(dataset)):
        for message in row.get("messages") or ():
            if isinstance(message, dict) and message.get("role") == "user":
                found.append(str(message.get("content", "")))
    return found


def _source(run: Run, leaf: Leaf, generation: Generation) -> LeafSource:
    config = run.project.config.generate
    chunks = leaf_chunks(leaf, run.project.repo_root, config, token_counter(config.tokenizer))
    seeds = [qa.question for qa in leaf.seed_questions]
    trained = [*_trained_questions(generation.dataset(leaf.id)), *seeds]
    return LeafSource(leaf.id, run.plan.leaves[leaf.id], chunks, tuple(trained))


def _write(run: Run, generation: Generation, teacher: Teacher) -> Questions:
    root = run.project.taxonomy_root
    leaves = [load_leaf(root / leaf / QNA, root) for leaf in run.plan.generate]
    store = AnswerStore.for_repo(run.project.repo_root)
    cached = CachedTeacher(teacher, store)
    settings = run.project.config
    try:
        counts = {}
        for leaf in (leaf for leaf in leaves if leaf.kind == "knowledge"):
            source = _source(run, leaf, generation)
            wanted = settings.retrain.mcq_per_leaf
            items = write_mcqs(cached, prompts_of(run), settings.generate, source, wanted)
            write_choices(run.work / "prepared" / EVALUATION / f"{leaf.id}.jsonl", items)
            counts[leaf.id] = len(items)
        return Questions(items=counts, teacher_calls=cached.asked)
    finally:
        store.close()


def _wanted(run: Run) -> bool:
    if run.project.config.retrain.mcq_per_leaf == 0:
        return False
    root = run.project.taxonomy_root
    return any(load_leaf(root / leaf / QNA, root).kind == "knowledge" for leaf in run.plan.generate)


def questions(run: Run, generation: Generation) -> Questions:
    """Held-out multiple-choice items of the changed knowledge leaves, written by the teacher."""

    def work() -> Questions:
        (run.work / "prepared" / EVALUATION).mkdir(parents=True, exist_ok=True)
        if not _wanted(run):
            return Questions()
        run.say(f"[questions] multiple-choice items of {len(run.plan.generate)} changed leaves")
        teacher = run.teacher()
        try:
            return _write(run, generation, teacher)
        finally:
            teacher.close()

    return step(run.journal, "questions", work, Questions)


def branch(run: Run, previous: EvalModel, current: EvalModel, budget: int) -> Branch:
    """Both models on every leaf's multiple-choice items and judged answers."""
    opened: list[tuple[Teacher, AnswerStore]] = []

    def judge() -> CachedTeacher:
        teacher, store = run.teacher(), AnswerStore.for_repo(run.project.repo_root)
        opened.append((teacher, store))
        return CachedTeacher(teacher, store)

    items = BranchItems(
        hashes=run.plan.leaves,
        seeds=taxonomy_seeds(run.project.taxonomy_root, list(run.plan.leaves)),
        questions=run.work / "prepared" / EVALUATION,
    )
    try:
        models = Models(previous, current, budget)
        return evaluate_branch(models, items, run.project.config, prompts_of(run), judge)
    finally:
        for teacher, store in opened:
            teacher.close()
            store.close()
