"""A released version's artifacts folder on this machine, and the artifact store behind it.

Local state is a cache, never an authority: a version's folder is used only when it holds what
its tag's lineage (or, for older versions, the store's manifest) records; otherwise it is set
aside and restored from the store (:mod:`seedtree.versions.store`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from seedtree.errors import UsageError
from seedtree.git import repository_id
from seedtree.home import RepoHome
from seedtree.versions.lineage import LINEAGE_FILE, Lineage, Release
from seedtree.versions.store import (
    CACHE_PREFIX,
    Backend,
    StoreError,
    Transfer,
    first_difference,
    folder_hashes,
    open_store,
    read_manifest,
    restore_version,
    upload_version,
)


def _store(store_url: str | None, what: str) -> Backend:
    if not store_url:
        raise UsageError(
            f"{what}: no artifact store is configured",
            hint="set `store:` in seedtree.yaml (a folder or s3://bucket/prefix), or copy the "
            "version's artifacts folder here",
        )
    return open_store(store_url)


def push_release(repo_root: Path, store_url: str, version: str, commit: str) -> Transfer:
    """Upload a version's artifacts and the generation cache to the store (manifest last)."""

    return upload_version(
        open_store(store_url),
        repository_id(repo_root),
        version,
        commit,
        RepoHome.of(repo_root).version(version),
        RepoHome.of(repo_root).answers,
    )


def restore_release(repo_root: Path, store_url: str | None, release: Release) -> Transfer:
    """Download ``release`` from the store into its artifacts folder on this machine."""
    folder = RepoHome.of(repo_root).version(release.version)
    store = _store(store_url, f"{release.version}: its model is not on this machine ({folder})")
    manifest = read_manifest(store, repository_id(repo_root), release.version)
    if manifest is None:
        raise UsageError(
            f"{release.version}: not on this machine ({folder}) nor in the store {store.url}",
            hint="it was released before a store was configured: copy its artifacts folder here",
        )
    if manifest.commit != release.commit:
        raise StoreError(
            f"{store.url}: {release.version} was stored for commit {manifest.commit[:12]}, "
            f"but the tag {release.tag} is on {release.commit[:12]}",
        )
    return restore_version(store, manifest, folder, RepoHome.of(repo_root).answers)


def set_aside(folder: Path) -> Path:
    """Rename ``folder`` to ``<name>.stale-<UTC time>`` (kept for inspection, never reused)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = folder.with_name(f"{folder.name}.stale-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{folder.name}.stale-{stamp}-{n}")
    folder.rename(target)
    return target


def artifact_hashes(folder: Path) -> dict[str, str]:
    """What a lineage records of its artifacts folder: every file's sha256 but the lineage's."""
    return folder_hashes(folder, skip=frozenset({LINEAGE_FILE}))


def _recorded_hashes(repo_root: Path, store_url: str | None, release: Release) -> dict[str, str]:
    """The files ``release`` was released with: its tag's lineage, else the store's manifest."""
    if release.lineage.files or not store_url:
        return dict(release.lineage.files)
    manifest = read_manifest(open_store(store_url), repository_id(repo_root), release.version)
    if manifest is None or manifest.commit != release.commit:
        return {}
    skip = (LINEAGE_FILE, CACHE_PREFIX)
    return {r: e.sha256 for r, e in manifest.files.items() if not r.startswith(skip)}


def untrusted(repo_root: Path, store_url: str | None, release: Release) -> str | None:
    """Why the artifacts folder of ``release`` on this machine is not what was released, or
    ``None`` when it is (or, for a version released before lineages recorded file hashes and
    with no store to ask, when nothing can tell: said on stderr)."""
    folder = RepoHome.of(repo_root).version(release.version)
    expected = _recorded_hashes(repo_root, store_url, release)
    if not expected:
        note = f"{release.version}: {folder} cannot be verified (no file hashes, no store)"
        print(f"warning: {note}", file=sys.stderr, flush=True)
        return None
    try:
        local = Lineage.model_validate_json((folder / LINEAGE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{LINEAGE_FILE} is missing or unreadable"
    if local != release.lineage:
        return f"{LINEAGE_FILE} is not the lineage of the tag {release.tag}"
    return first_difference(artifact_hashes(folder), expected)


def local_artifacts(repo_root: Path, store_url: str | None, release: Release) -> Path:
    """The artifacts folder of ``release``, checked against what its tag (or the store) records.

    Local state is a cache, never an authority: a folder that differs is set aside (renamed)
    and, like a missing one, restored from the store."""
    folder = RepoHome.of(repo_root).version(release.version)
    if (folder / "model" / "config.json").is_file():
        problem = untrusted(repo_root, store_url, release)
        if problem is None:
            return folder
        aside = set_aside(folder)
        note = f"{release.version}: {folder} is not what was released ({problem}); set aside as "
        note += f"{aside.name}, restoring it from the store"
    else:
        note = f"{release.version}: not on this machine, restoring it from the store"
    print(note, file=sys.stderr, flush=True)  # stdout stays the command's own (chat answers)
    restore_release(repo_root, store_url, release)
    recorded = release.lineage.files
    problem = first_difference(artifact_hashes(folder), recorded) if recorded else None
    if problem is not None:
        raise StoreError(f"{release.version}: the store's copy is not what was released: {problem}")
    return folder
