"""Model versions as git tags: releases, their lineage, and which version is current.

State is git-native and append-only, so that pushing ``refs/tags/model/*`` never needs a force:

- ``model/vN`` (annotated) marks the taxonomy commit version N was trained on. Its message is
  the :class:`Lineage` as JSON: previous version, base model, leaf hashes, data and recipe
  hashes, metrics, the gate decision and any recorded override (who, why).
- ``model/current/K`` (annotated, K = 1, 2, ...) records a move of the *current* pointer by
  ``seedtree models promote`` or ``rollback``: its message says which version became current,
  who moved it and why, and the newest version that existed then.
- The current version is the newest release, unless a pointer move happened after it (the
  move's ``newest`` is at least that release's number): then it is the version the move chose.
  A new release therefore becomes current; retraining starts from the current version.

Artifacts (HF-format model, datasets, replay buffer, report, plots) live outside git under
``$SEEDTREE_HOME/repos/<repository id>/models/vN``, and in the artifact store when one is
configured (:mod:`seedtree.retrain.store`): a version missing here is restored from it.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from seedtree import termsafe
from seedtree.errors import GitError, UsageError
from seedtree.generate.store import DB_NAME, generate_home
from seedtree.git import repository_id, run_git
from seedtree.home import repo_home
from seedtree.retrain.bootstrap import Interval
from seedtree.retrain.evidence import LeafChange
from seedtree.retrain.store import (
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

VERSION_PREFIX = "model/v"
LINEAGE_FILE = "lineage.json"
POINTER_PREFIX = "model/current/"
LINEAGE_FORMAT = 1
_VERSION = re.compile(r"^v([1-9][0-9]*)$")
_FALLBACK_IDENT = {
    "GIT_COMMITTER_NAME": "seedtree",
    "GIT_COMMITTER_EMAIL": "seedtree@localhost",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Override(_Frozen):
    """A refused gate released anyway: recorded with who decided and why."""

    who: str
    why: str
    at: str


class GateDecision(_Frozen):
    passed: bool
    reasons: tuple[str, ...]
    learned: dict[str, float]  # relative held-out loss drop per changed leaf (positive: learned)
    forgotten: dict[str, float]  # relative held-out loss rise per earlier leaf (positive: forgot)
    min_learning: float
    max_forgetting: float
    # per leaf: relative loss change on held-out, seeds and both, with paired-bootstrap intervals
    changes: dict[str, LeafChange] = {}
    learning: Interval | None = None  # mean relative drop over the changed leaves
    confidence: float | None = None


class Lineage(_Frozen):
    """Everything a model version records about where it came from (the tag message)."""

    format: int = LINEAGE_FORMAT
    version: str
    commit: str
    previous: str | None
    base_model: str
    leaves: dict[str, str]  # every leaf the model was taught, up to this version -> hash
    trained: dict[str, str]  # leaves (re)generated and trained in this version -> hash
    removed: tuple[str, ...]
    renamed: dict[str, str]  # old id -> new id
    data_hash: str
    recipe_hash: str
    metrics: dict[str, Any]
    gate: GateDecision
    override: Override | None = None
    created_at: str
    # sha256 of every file of the artifacts folder but lineage.json (empty in older versions):
    # a folder found on a machine is used only when it holds exactly these
    files: dict[str, str] = {}


@dataclass(frozen=True)
class Release:
    number: int
    commit: str
    lineage: Lineage

    @property
    def version(self) -> str:
        return f"v{self.number}"

    @property
    def tag(self) -> str:
        return f"{VERSION_PREFIX}{self.number}"


@dataclass(frozen=True)
class PointerMove:
    index: int
    version: str
    action: str
    who: str
    why: str
    newest: int
    at: str


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def parse_version(text: str) -> int:
    """``v3`` (or ``3``, or ``model/v3``) as 3; :class:`UsageError` otherwise."""
    raw = text.strip().removeprefix(VERSION_PREFIX[:-1])
    match = _VERSION.match(raw if raw.startswith("v") else f"v{raw}")
    if match is None:
        raise UsageError(f"'{text}' is not a model version", hint="write it as v1, v2, ...")
    return int(match.group(1))


def models_home(repo_root: Path) -> Path:
    """``$SEEDTREE_HOME/repos/<repository id>`` of this taxonomy repository."""

    return repo_home(repository_id(repo_root))


def artifacts_dir(repo_root: Path, version: str) -> Path:
    return models_home(repo_root) / "models" / version


def _tag_rows(repo_root: Path, prefix: str) -> list[tuple[str, str, str]]:
    """(tag name, target commit, message) of every annotated tag under ``prefix``."""

    fmt = "%(refname:strip=2)%00%(*objectname)%00%(contents)%1e"
    out = run_git(repo_root, "for-each-ref", f"--format={fmt}", f"refs/tags/{prefix}")
    rows = []
    for record in out.split("\x1e"):
        parts = record.lstrip("\n").split("\x00", 2)
        if len(parts) == 3 and parts[0]:
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def _parse_lineage(tag: str, message: str) -> Lineage:
    try:
        return Lineage.model_validate(json.loads(message))
    except (ValueError, ValidationError) as exc:
        raise UsageError(
            f"tag {tag}: its message is not a seedtree lineage ({str(exc).splitlines()[0]})",
            hint=f"delete the tag if it was not made by seedtree: git tag -d {tag}",
        ) from None


def releases(repo_root: Path) -> list[Release]:
    """Every ``model/vN`` tag, oldest first."""
    found = []
    for tag, commit, message in _tag_rows(repo_root, VERSION_PREFIX.rstrip("v")):
        name = tag.removeprefix("model/")
        if _VERSION.match(name) is None:
            continue
        found.append(Release(int(name[1:]), commit, _parse_lineage(tag, message)))
    return sorted(found, key=lambda r: r.number)


def pointer_moves(repo_root: Path) -> list[PointerMove]:
    """Every ``model/current/K`` tag, oldest first."""
    moves = []
    for tag, _commit, message in _tag_rows(repo_root, POINTER_PREFIX):
        index = tag.removeprefix(POINTER_PREFIX)
        try:
            data = json.loads(message)
            moves.append(
                PointerMove(
                    int(index),
                    str(data["version"]),
                    str(data["action"]),
                    str(data["who"]),
                    str(data["why"]),
                    int(data["newest"]),
                    str(data["at"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"tag {tag}: not a seedtree pointer move") from None
    return sorted(moves, key=lambda m: m.index)


def current_release(repo_root: Path) -> Release | None:
    """The version retraining starts from and ``seedtree chat`` talks to by default."""
    known = releases(repo_root)
    if not known:
        return None
    newest = known[-1]
    moves = pointer_moves(repo_root)
    if moves and moves[-1].newest >= newest.number:
        chosen = parse_version(moves[-1].version)
        return next((r for r in known if r.number == chosen), newest)
    return newest


def find_release(repo_root: Path, version: str) -> Release:
    number = parse_version(version)
    for release in releases(repo_root):
        if release.number == number:
            return release
    raise UsageError(
        f"no model version v{number} in {repo_root}",
        hint="`seedtree models history` lists the versions (fetch tags with `git fetch --tags`)",
    )


def actor(repo_root: Path) -> str:
    """Who is acting: ``$SEEDTREE_ACTOR``, else git's user.name <user.email>, else the login."""

    explicit = os.environ.get("SEEDTREE_ACTOR")
    if explicit:
        return explicit
    parts = []
    for key in ("user.name", "user.email"):
        try:
            parts.append(run_git(repo_root, "config", "--get", key).strip())
        except GitError:
            parts.append("")
    name, email = parts
    if name:
        return f"{name} <{email}>" if email else name
    return os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def _tag_env(repo_root: Path) -> dict[str, str]:
    """A tagger identity: the repository's own, else a neutral fallback (CI checkouts)."""

    try:
        run_git(repo_root, "var", "GIT_COMMITTER_IDENT")
        return {}
    except GitError:
        return dict(_FALLBACK_IDENT)


def _write_tag(repo_root: Path, tag: str, commit: str, message: str) -> None:
    """The message goes through a file: the lineage of a large taxonomy is larger than the
    operating system lets one command-line argument be (128 KiB on Linux)."""
    with tempfile.TemporaryDirectory(prefix="seedtree-tag-") as tmp:
        path = Path(tmp) / "message"
        path.write_text(message, encoding="utf-8")
        run_git(
            repo_root,
            "tag",
            "--annotate",
            "--cleanup=verbatim",
            "--file",
            str(path),
            tag,
            commit,
            env=_tag_env(repo_root),
        )


def tag_release(repo_root: Path, lineage: Lineage) -> Release:
    """Write ``model/vN`` on ``lineage.commit`` (idempotent when the same tag exists)."""
    number = parse_version(lineage.version)
    for existing in releases(repo_root):
        if existing.number == number:
            if existing.lineage == lineage:
                return existing
            raise UsageError(f"tag {existing.tag} already exists with another lineage")
    message = json.dumps(lineage.model_dump(mode="json"), indent=2, sort_keys=True)
    _write_tag(repo_root, f"{VERSION_PREFIX}{number}", lineage.commit, message + "\n")
    return Release(number, lineage.commit, lineage)


def move_pointer(repo_root: Path, release: Release, action: str, why: str) -> PointerMove:
    """Record that ``release`` is now current (``action``: promote or rollback)."""
    known = releases(repo_root)
    moves = pointer_moves(repo_root)
    move = PointerMove(
        index=(moves[-1].index + 1) if moves else 1,
        version=release.version,
        action=action,
        who=actor(repo_root),
        why=why,
        newest=known[-1].number if known else release.number,
        at=now(),
    )
    body = {k: v for k, v in move.__dict__.items() if k != "index"}
    _write_tag(
        repo_root,
        f"{POINTER_PREFIX}{move.index}",
        release.commit,
        json.dumps(body, indent=2, sort_keys=True) + "\n",
    )
    return move


@dataclass(frozen=True)
class Changes:
    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]
    renamed: dict[str, str]


def changes(release: Release, previous: Release | None) -> Changes:
    """What ``release`` changed relative to the version it was trained from."""
    before = previous.lineage.leaves if previous is not None else {}
    trained = release.lineage.trained
    return Changes(
        added=tuple(sorted(leaf for leaf in trained if leaf not in before)),
        modified=tuple(sorted(leaf for leaf in trained if leaf in before)),
        removed=tuple(sorted(release.lineage.removed)),
        renamed=dict(sorted(release.lineage.renamed.items())),
    )


def _gate_line(lineage: Lineage) -> str:
    gate = lineage.gate
    learned = sum(gate.learned.values()) / len(gate.learned) if gate.learned else None
    forgot = max(gate.forgotten.values()) if gate.forgotten else None
    parts = ["gate passed" if gate.passed else "gate REFUSED"]
    if learned is not None:
        parts.append(f"loss of trained leaves {-learned:+.1%}")
    if forgot is not None:
        parts.append(f"worst forgetting {forgot:+.1%}")
    text = ", ".join(parts)
    if lineage.override is not None:
        o = lineage.override
        text += f"; released by override of {o.who} ({o.at}): {o.why}"
    return text


def _change_lines(found: Changes) -> list[str]:
    lines = [f"+ {leaf}" for leaf in found.added]
    lines += [f"~ {leaf}" for leaf in found.modified]
    lines += [f"- {leaf}" for leaf in found.removed]
    lines += [f"> {old} -> {new}" for old, new in found.renamed.items()]
    return lines or ["(no leaf changed)"]


def score_table(known: list[Release]) -> list[str]:
    """The report's model-card columns for every version (``metrics.scores``), oldest first;
    a version's previous scores give the row of what it started from when that is no version."""
    scored = [(r, r.lineage.metrics.get("scores") or {}) for r in known]
    names = sorted({name for _, scores in scored for name in scores})
    if not names:
        return []
    lines = ["scores (%):", "  " + " | ".join(["version", *names])]
    for release, scores in scored:
        if release.lineage.previous is None and scores:
            row = [f"{scores[n][0] * 100:.1f}" if n in scores else "-" for n in names]
            lines.append("  " + " | ".join([release.lineage.base_model, *row]))
        row = [f"{scores[n][1] * 100:.1f}" if n in scores else "-" for n in names]
        lines.append("  " + " | ".join([release.version, *row]))
    return lines


def history_command(repo_root: Path, as_json: bool = False) -> int:
    """Print every version, newest first, with what changed since the one it came from."""
    known = releases(repo_root)
    by_version = {r.version: r for r in known}
    current = current_release(repo_root)
    if not known:
        print("no model version yet: `seedtree retrain` releases v1")
        return 0
    for release in reversed(known):
        lineage = release.lineage
        found = changes(release, by_version.get(lineage.previous or ""))
        is_current = current is not None and current.number == release.number
        if as_json:
            row = {
                "version": release.version,
                "tag": release.tag,
                "current": is_current,
                "changes": found.__dict__,
                "artifacts": str(artifacts_dir(repo_root, release.version)),
                "lineage": lineage.model_dump(mode="json"),
            }
            print(json.dumps(row, sort_keys=True))
            continue
        mark = "  (current)" if is_current else ""
        print(f"{release.version}  {release.commit[:12]}  {lineage.created_at}{mark}")
        print(f"    from {lineage.previous or lineage.base_model}; {_gate_line(lineage)}")
        for line in _change_lines(found):  # they name leaves
            print(f"    {termsafe.text(line)}")
    for line in score_table(known):  # benchmark task names come from the configuration
        print(termsafe.text(line))
    for move in pointer_moves(repo_root):
        said = f"{move.action} to {move.version} by {move.who} at {move.at}: {move.why}"
        print(termsafe.text(said))
    return 0


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
        artifacts_dir(repo_root, version),
        generate_home(repo_root) / DB_NAME,
    )


def restore_release(repo_root: Path, store_url: str | None, release: Release) -> Transfer:
    """Download ``release`` from the store into its artifacts folder on this machine."""
    folder = artifacts_dir(repo_root, release.version)
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
    return restore_version(store, manifest, folder, generate_home(repo_root) / DB_NAME)


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
    folder = artifacts_dir(repo_root, release.version)
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
    folder = artifacts_dir(repo_root, release.version)
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


def pull_command(repo_root: Path, store_url: str | None, version: str) -> int:
    """``seedtree models pull vN``: bring a released version from the store to this machine."""
    release = find_release(repo_root, version)
    folder = artifacts_dir(repo_root, release.version)
    if (folder / "model" / "config.json").is_file():
        print(f"{release.version} is already on this machine: {folder}")
        return 0
    done = restore_release(repo_root, store_url, release)
    print(f"pulled {release.version}: {done.moved} files ({done.moved_bytes:,} bytes) to {folder}")
    return 0


def promote_command(repo_root: Path, version: str, why: str, store_url: str | None = None) -> int:
    """Make ``version`` current: chat, serving and the next retrain start from it."""
    release = find_release(repo_root, version)
    local_artifacts(repo_root, store_url, release)
    move_pointer(repo_root, release, "promote", why)
    print(f"{release.version} is now current ({release.commit[:12]})")
    return 0


def rollback_command(repo_root: Path, why: str, store_url: str | None = None) -> int:
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
