"""Where a retrain starts: the base model, the starting release and model, and the recipe. The
planner (:mod:`seedtree.retrain.plan`) and the preflight (:mod:`seedtree.retrain.doctor`) both
read them here."""

from __future__ import annotations

from seedtree.config import Config
from seedtree.home import RepoHome
from seedtree.project import Project
from seedtree.versions.artifacts import local_artifacts
from seedtree.versions.lineage import Release
from seedtree.versions.tags import current_release


def base_name(config: Config, base_model: str | None) -> str:
    """The model v1 (and any new base) starts from: --base-model, retrain.base_model, student."""
    return base_model or config.retrain.base_model or config.student.model


def start_release(project: Project, base_model: str | None) -> Release | None:
    """The version training starts from: current, unless --base-model asks for another base."""
    current = current_release(project.repo_root)
    if current is None:
        return None
    if base_model and base_model != current.lineage.base_model:
        return None  # a new base model: every leaf is trained again from it
    return current


def start_model_name(project: Project, base_model: str | None) -> str:
    start = start_release(project, base_model)
    if start is None:
        return base_name(project.config, base_model)
    if project.config.store:  # a new machine: the run would restore it first, and so do we
        return str(local_artifacts(project.repo_root, project.config.store, start) / "model")
    return str(RepoHome.of(project.repo_root).version(start.version) / "model")


def retrain_recipe_name(config: Config) -> str:
    return config.retrain.recipe or config.train.recipe
