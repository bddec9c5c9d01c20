"""Which document repositories a leaf may name, by the trusted configuration (``documents``).

A ``document.repo`` is ``.`` (or ``./``: this repository) or an ``https://`` URL whose host is on
``documents.allowed_hosts`` (default GitHub, GitLab, Hugging Face, Codeberg), without user name,
password, port other than 443, query or fragment. A private deployment may list folders in
``documents.allowed_local``: a repository at an absolute path (or ``file://`` URL) inside one of
them is then allowed too. Everything else (a relative path, ``..``, ``~``, ``http:``, ``ssh:``,
``git@host:``, ``file:`` elsewhere) is refused, where it is validated and again where documents
are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from seedtree.config import CONFIG_FILE, DocumentsConfig, load_config

THIS_REPOSITORY = (".", "./")


@dataclass(frozen=True)
class ThisRepository:
    """``repo: .``"""


@dataclass(frozen=True)
class RemoteRepository:
    """A URL to fetch at a pinned commit (``https://`` on an allowed host, or ``file://`` of an
    allowed local mirror)."""

    url: str


@dataclass(frozen=True)
class LocalRepository:
    """A folder inside ``documents.allowed_local``, read in place."""

    folder: Path


DocumentRepository = ThisRepository | RemoteRepository | LocalRepository


class RepoRefused(ValueError):
    """A ``document.repo`` the configuration does not allow; the message says what is."""


def _allowed_text(settings: DocumentsConfig) -> str:
    hosts = ", ".join(settings.allowed_hosts) or "none"
    local = " or a folder under documents.allowed_local" if settings.allowed_local else ""
    return f"'.' (this repository), an https:// URL on an allowed host ({hosts}){local}"


def _refuse(repo: str, why: str, settings: DocumentsConfig) -> RepoRefused:
    return RepoRefused(
        f"repository '{repo}' is not allowed ({why}): a document repository is "
        + _allowed_text(settings)
    )


def _https(repo: str, settings: DocumentsConfig) -> RemoteRepository:
    try:
        parts = urlsplit(repo)
        port = parts.port
    except ValueError:
        raise _refuse(repo, "not a valid URL", settings) from None
    host = (parts.hostname or "").rstrip(".")
    if parts.username is not None or parts.password is not None:
        raise _refuse(repo, "a URL must not carry a user name or password", settings)
    if port not in (None, 443) or parts.query or parts.fragment:
        raise _refuse(repo, "a URL without port, query or fragment", settings)
    if host not in settings.allowed_hosts or not parts.path.strip("/"):
        raise _refuse(repo, f"host '{host}' is not on documents.allowed_hosts", settings)
    return RemoteRepository(repo)


def _local(repo: str, settings: DocumentsConfig) -> DocumentRepository:
    is_url = repo.startswith("file://")
    raw = repo.removeprefix("file://")
    if not os.path.isabs(raw):
        raise _refuse(repo, "a relative path", settings)
    folder = Path(raw).resolve()
    allowed = [Path(f).resolve() for f in settings.allowed_local]
    if not any(folder.is_relative_to(base) for base in allowed):
        raise _refuse(repo, "a local folder outside documents.allowed_local", settings)
    return RemoteRepository(repo) if is_url else LocalRepository(folder)


def _why(repo: str) -> str:
    if repo.startswith("http://"):
        return "plain http"
    if repo.startswith("~"):
        return "a home folder"
    if ".." in repo.replace("\\", "/").split("/"):
        return "'..'"
    if "://" in repo or ("@" in repo and ":" in repo):
        return "only https:// URLs are fetched"
    return "a relative path"


def classify(repo: str, settings: DocumentsConfig) -> DocumentRepository:
    """What ``repo`` names, or :class:`RepoRefused` when the configuration does not allow it."""
    if repo in THIS_REPOSITORY:
        return ThisRepository()
    if any(ord(c) < 32 or c.isspace() for c in repo) or repo.startswith("-"):
        raise _refuse(repo, "control characters, spaces or a leading '-'", settings)
    if repo.startswith("https://"):
        return _https(repo, settings)
    if os.path.isabs(repo) or repo.startswith("file://"):
        return _local(repo, settings)
    raise _refuse(repo, _why(repo), settings)


def is_this_repository(repo: object) -> bool:
    """Whether a parsed ``document.repo`` value names this repository."""
    return isinstance(repo, str) and repo.strip() in THIS_REPOSITORY


_SETTINGS: dict[tuple[str, int, tuple[tuple[str, str], ...]], DocumentsConfig] = {}


def settings_for(repo_root: Path) -> DocumentsConfig:
    """The ``documents`` section of the repository's configuration (``seedtree.yaml`` and
    ``SEEDTREE__DOCUMENTS__*``), read again only when either changed."""
    path = repo_root / CONFIG_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("SEEDTREE__")))
    key = (str(repo_root.resolve()), stamp, env)
    if key not in _SETTINGS:
        _SETTINGS[key] = load_config(repo_root).documents
    return _SETTINGS[key]
