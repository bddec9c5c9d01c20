"""Which document repositories a leaf may name, by the trusted configuration (``documents``).

A ``document.repo`` is ``.`` (or ``./``: this repository) or an ``https://`` URL whose host is on
``documents.allowed_hosts`` (default GitHub, GitLab, Hugging Face, Codeberg), without user name,
password, port other than 443, query or fragment. The SSH forms InstructLab accepts
(``git@github.com:owner/repo.git``, ``ssh://git@github.com/owner/repo``) name the same repository
on an allowed host: they are read as that https URL and fetched over https, never over SSH (whose
keys belong to the runner), and validation warns that it did so.

A private deployment may list folders in ``documents.allowed_local``: a repository at an absolute
path (or ``file://`` URL) inside one of them is then allowed too. A ``file://`` URL is decoded as
git decodes it (``%2e%2e`` is ``..``), resolved, checked, and the resolved folder is what is
fetched. Everything else (a relative path, ``..``, ``~``, ``http:``, ``git:``, SSH on another
host, ``file:`` elsewhere) is refused, where it is validated and again where documents are read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from seedtree.config import CONFIG_FILE, DocumentsConfig, load_config

THIS_REPOSITORY = (".", "./")
# git's scp-like form: [user@]host:path (a path with no "/" before the first ":")
_SCP = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class ThisRepository:
    """``repo: .``"""


@dataclass(frozen=True)
class RemoteRepository:
    """A URL to fetch at a pinned commit (``https://`` on an allowed host, or ``file://`` of an
    allowed local mirror, as resolved); ``written``: the SSH form it was read from, if any."""

    url: str
    written: str | None = None

    @property
    def note(self) -> str | None:
        """What a reader must know: an SSH form was read as https."""
        if self.written is None:
            return None
        return (
            f"'{self.written}' is read as {self.url} and fetched over https, never over SSH: "
            "write the https URL"
        )


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


def _https(repo: str, settings: DocumentsConfig, written: str | None = None) -> RemoteRepository:
    """``repo`` when it is an https URL the configuration allows (``written``: the SSH form it
    was read from, which refusals name)."""
    shown = written or repo
    try:
        parts = urlsplit(repo)
        port = parts.port
    except ValueError:
        raise _refuse(shown, "not a valid URL", settings) from None
    host = (parts.hostname or "").rstrip(".")
    if parts.username is not None or parts.password is not None:
        raise _refuse(shown, "a URL must not carry a user name or password", settings)
    if port not in (None, 443) or parts.query or parts.fragment:
        raise _refuse(shown, "a URL without port, query or fragment", settings)
    if host not in settings.allowed_hosts or not parts.path.strip("/"):
        raise _refuse(shown, f"host '{host}' is not on documents.allowed_hosts", settings)
    return RemoteRepository(repo, written)


def _file_url_path(repo: str, settings: DocumentsConfig) -> str:
    """The path git reads for a ``file://`` URL: percent-decoded, as git decodes it."""
    parts = urlsplit(repo)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise _refuse(repo, "a file:// URL with a host, query or fragment", settings)
    path = unquote(parts.path, errors="strict")
    if any(ord(c) < 32 for c in path):
        raise _refuse(repo, "control characters, once decoded", settings)
    return path


def _local(repo: str, settings: DocumentsConfig) -> DocumentRepository:
    is_url = repo.startswith("file://")
    try:
        raw = _file_url_path(repo, settings) if is_url else repo
    except UnicodeDecodeError:
        raise _refuse(repo, "not UTF-8 once decoded", settings) from None
    if not os.path.isabs(raw):
        raise _refuse(repo, "a relative path", settings)
    folder = Path(raw).resolve()
    allowed = [Path(f).resolve() for f in settings.allowed_local]
    if not any(folder.is_relative_to(base) for base in allowed):
        raise _refuse(repo, "a local folder outside documents.allowed_local", settings)
    return RemoteRepository(folder.as_uri()) if is_url else LocalRepository(folder)


def _ssh_as_https(repo: str, settings: DocumentsConfig) -> RemoteRepository:
    """``git@host:owner/repo`` or ``ssh://git@host/owner/repo`` as its https URL."""
    if repo.startswith("ssh://"):
        parts = urlsplit(repo)
        user, host, path = parts.username, parts.hostname or "", parts.path
        if parts.password is not None or parts.port is not None or parts.query or parts.fragment:
            raise _refuse(repo, "an SSH URL with a password, port, query or fragment", settings)
    else:
        match = _SCP.match(repo)
        if match is None:
            raise _refuse(repo, "not an SSH address", settings)
        user, host, path = match["user"], match["host"], match["path"]
    if user not in (None, "git"):
        raise _refuse(repo, "an SSH address of a user other than 'git'", settings)
    if ".." in path.split("/"):
        raise _refuse(repo, "'..'", settings)
    return _https(f"https://{host.lower()}/{path.lstrip('/')}", settings, written=repo)


def _why(repo: str) -> str:
    if repo.startswith("http://"):
        return "plain http"
    if repo.startswith("~"):
        return "a home folder"
    if ".." in repo.replace("\\", "/").split("/"):
        return "'..'"
    if "://" in repo:
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
    if repo.startswith("ssh://") or _SCP.match(repo):
        return _ssh_as_https(repo, settings)
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
