"""What earlier, interrupted runs left behind: release tags to write again, folders to set aside.

- A run that wrote ``model/vN`` but could not push it loses the tag when the next workflow
  checkout prunes local tags. Its artifacts folder and its journal (whose ``tag`` step names the
  tag and commit) stay on the runner: :func:`restore_tags` writes the tag again from the folder's
  ``lineage.json``, so that the next push publishes it and the next plan starts from it, but
  only when the artifact store holds that release with that lineage (local files are a cache,
  never an authority: a job that ran before on the machine could have written them).
- A run killed after filling ``models/vN`` but before tagging it leaves a complete folder that a
  later run for another commit would plan as vN again: :func:`check_reused` keeps that folder
  only when it records the plan's commit, data hash and recipe hash, and otherwise renames it to
  ``vN.stale-<time>``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seedtree.git import repository_id, try_resolve_commit
from seedtree.home import RepoHome
from seedtree.versions.artifacts import artifact_hashes, set_aside
from seedtree.versions.lineage import LINEAGE_FILE, VERSION_PREFIX, Lineage, Release
from seedtree.versions.store import file_sha256, first_difference, open_store, read_manifest
from seedtree.versions.tags import releases
from seedtree.versions.tags import tag_release as write_tag

_FOLDER = re.compile(r"^v([1-9][0-9]*)$")


def _lineage(folder: Path) -> Lineage | None:
    try:
        return Lineage.model_validate_json((folder / "lineage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _journal_steps(path: Path) -> dict[str, Any]:
    try:
        steps = json.loads(path.read_text(encoding="utf-8"))["steps"]
        return {str(s["name"]): s["result"] for s in steps}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def was_tagged(work_root: Path, lineage: Lineage) -> bool:
    """Whether a run's journal records writing this version's tag on this commit."""
    tag = f"{VERSION_PREFIX}{lineage.version[1:]}"
    for journal in work_root.glob(f"{lineage.commit[:12]}-*/journal.json"):
        done = _journal_steps(journal).get("tag")
        if isinstance(done, dict) and done == {"tag": tag, "commit": lineage.commit}:
            return True
    return False


def _released_folders(repo_root: Path) -> list[tuple[int, Path]]:
    found = []
    for folder in (RepoHome.of(repo_root).versions).glob("v*"):
        match = _FOLDER.match(folder.name)
        if match and (folder / "lineage.json").is_file():
            found.append((int(match.group(1)), folder))
    return sorted(found)


def _in_store(repo_root: Path, store_url: str, folder: Path, lineage: Lineage) -> bool:
    """Whether the store holds this very release: its version, commit and lineage file."""
    manifest = read_manifest(open_store(store_url), repository_id(repo_root), lineage.version)
    entry = manifest.files.get(LINEAGE_FILE) if manifest is not None else None
    if manifest is None or entry is None or manifest.commit != lineage.commit:
        return False
    return file_sha256(folder / LINEAGE_FILE) == entry.sha256


def restore_tags(repo_root: Path, work_root: Path, store_url: str | None = None) -> list[Release]:
    """Write again every release tag this machine made that the clone no longer has.

    A folder and a journal on this machine prove nothing (any earlier job could have written
    them): a tag is written again only when the store holds that release, uploaded before its
    tag was first written, with the same lineage."""
    tagged = {r.number for r in releases(repo_root)}
    restored = []
    for number, folder in _released_folders(repo_root):
        lineage = _lineage(folder)
        if number in tagged or lineage is None or lineage.version != f"v{number}":
            continue
        if try_resolve_commit(repo_root, lineage.commit) != lineage.commit:
            continue  # its commit is not in this clone (another history): leave it
        if not was_tagged(work_root, lineage):
            continue
        if store_url and _in_store(repo_root, store_url, folder, lineage):
            restored.append(write_tag(repo_root, lineage))
        else:
            where = f"the store {store_url}" if store_url else "a store (none is configured)"
            print(
                f"warning: {folder} claims the release {lineage.version}, which {where} does "
                "not hold: its tag is not written again from local state",
                file=sys.stderr,
            )
    return restored


def matches(folder: Path, expected: Mapping[str, str]) -> bool:
    """Whether ``folder/lineage.json`` records the given version, commit, data and recipe hash,
    and the folder holds exactly the files that lineage records."""
    found = _lineage(folder)
    if found is None:
        return False
    keys = ("version", "commit", "data_hash", "recipe_hash")
    if not all(getattr(found, key) == expected[key] for key in keys):
        return False
    return not found.files or first_difference(artifact_hashes(folder), found.files) is None


def check_reused(folder: Path, expected: Mapping[str, str]) -> Path | None:
    """Keep ``folder`` if it is this plan's release; else set it aside and return where to."""
    if not (folder / "lineage.json").is_file() or matches(folder, expected):
        return None
    return set_aside(folder)
