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
configured (:mod:`seedtree.versions.store`): a version missing here is restored from it.
"""

from __future__ import annotations

import getpass
import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from seedtree.errors import GitError, UsageError
from seedtree.git import run_git
from seedtree.versions.lineage import (
    POINTER_PREFIX,
    VERSION_NAME,
    VERSION_PREFIX,
    Lineage,
    PointerMove,
    Release,
    now,
    parse_version,
)

_FALLBACK_IDENT = {
    "GIT_COMMITTER_NAME": "seedtree",
    "GIT_COMMITTER_EMAIL": "seedtree@localhost",
}


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
        if VERSION_NAME.match(name) is None:
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
