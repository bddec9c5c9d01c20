"""``seedtree train``: resolve the options, run :func:`seedtree.train.run.train_run`, summarise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seedtree.config import TrainConfig
from seedtree.errors import EXIT_OK, ConfigError
from seedtree.models import resolve_model
from seedtree.project import Project
from seedtree.taxonomy.leaves import QNA, load_leaf
from seedtree.train.data import load_samples
from seedtree.train.engine import read_ds_config
from seedtree.train.recipe import load_recipe
from seedtree.train.run import train_run


def resolve_file(name: str, project: Project, what: str) -> Path:
    """``name`` as given (absolute or from the working folder), else from the repository root."""
    path = Path(name).expanduser()
    for candidate in (path, project.repo_root / path):
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(
        f"{what} {name}: no such file (looked in the working folder and in {project.repo_root})",
        hint=f"pass --{what.split()[-1]} with the path of an existing file",
    )


def taxonomy_seeds(taxonomy_root: Path, leaves: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """The seed Q&A of each leaf still present in the taxonomy (scored after each phase)."""
    seeds = {}
    for leaf in leaves:
        qna = taxonomy_root / leaf / QNA
        if qna.is_file():
            seeds[leaf] = [
                (qa.question, qa.answer) for qa in load_leaf(qna, taxonomy_root).seed_questions
            ]
    return seeds


def train_command(
    data: Sequence[Path],
    model: str,
    out: Path,
    project: Project,
    settings: TrainConfig,
    replay: Path | None,
    quiet: bool,
    earlier_heldout: Sequence[Path] = (),
    use_replay: bool = True,
) -> int:
    """Train on the JSONL datasets in ``data`` from ``model``; results under ``out``."""

    # everything the user wrote is checked before any model is loaded
    recipe = load_recipe(resolve_file(settings.recipe, project, "recipe"))
    ds = None
    if settings.deepspeed:
        ds = read_ds_config(resolve_file(settings.deepspeed, project, "deepspeed config"))
    leaves = list(load_samples(list(data)))
    earlier = list(earlier_heldout)
    result = train_run(
        list(data),
        resolve_model(model),
        out,
        recipe,
        replay_dir=replay,
        deepspeed_config=ds,
        progress=not quiet,
        seeds=taxonomy_seeds(project.taxonomy_root, leaves + list(load_samples(earlier))),
        earlier_heldout=earlier,
        replay=use_replay,
    )
    print(f"model: {result.final_model}")
    print(f"metrics: {result.metrics_path}")
    print(f"evaluation: {result.eval_path}")
    for plot in result.plots:
        print(f"plot: {plot}")
    return EXIT_OK
