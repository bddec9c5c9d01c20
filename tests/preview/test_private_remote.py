"""The production preview of a private repository's pull request: its base repository served by
``git http-backend`` over TLS on 127.0.0.1, answering 401 without the right token."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from git_http import GitHttpServer, self_signed
from test_production import LEAF, TRUSTED, _add_leaves, _publish, _repos

from helpers import git
from seedtree.cli import run
from seedtree.config import load_config
from seedtree.errors import GitError
from seedtree.preview.model import load_report
from seedtree.preview.pull import fetch_pull, remote_head
from seedtree.project import Project

TOKEN = "ghs_pr1vateT0kenThatMustNotLeak"
HEADER = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHttpServer]:
    """The private host, trusted by git through its certificate (as a runner trusts GitHub)."""
    (tmp_path / "tls").mkdir()
    certs = self_signed(tmp_path / "tls")
    monkeypatch.setenv("GIT_SSL_CAINFO", str(certs[0]))
    server = GitHttpServer(tmp_path, f"Basic {HEADER}", certs)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def private(
    make_repo: Callable[..., Path], tmp_path: Path, host: GitHttpServer
) -> tuple[Project, str, str]:
    """The trusted checkout, the private base repository's URL and the pull request's head."""
    base, trusted, fork = _repos(make_repo, tmp_path, TRUSTED)
    _add_leaves(fork)
    head = _publish(base, fork)
    project = Project(trusted, trusted / "taxonomy", load_config(trusted))
    return project, host.url + base.name, head


def _files_holding(folder: Path, *secrets: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and any(s.encode() in path.read_bytes() for s in secrets):
            found.append(str(path))
    return found


def test_the_token_reads_a_private_pull_request_and_is_written_nowhere(
    private: tuple[Project, str, str], host: GitHttpServer, tmp_path: Path
) -> None:
    project, url, head = private
    snapshot = fetch_pull(project, 7, url, tmp_path / "work", TOKEN)
    assert snapshot.head_commit == head
    assert remote_head(project, snapshot) == head  # the ls-remote of each leaf, with the token
    assert host.seen and all(s.authorization.lower() == f"basic {HEADER}".lower()
                             for s in host.seen)  # fmt: skip
    assert _files_holding(tmp_path / "work", TOKEN, HEADER) == []  # .git/config and the rest
    assert _files_holding(project.repo_root / ".git", TOKEN, HEADER) == []
    assert TOKEN not in repr(snapshot)


def test_without_the_token_the_fetch_fails_clearly(
    private: tuple[Project, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, url, _head = private
    out = tmp_path / "preview.md"
    assert run(["preview", "-C", str(project.repo_root), "--pull-request", "7", "--remote", url,
                "--out", str(out)]) == 3  # fmt: skip
    err = capsys.readouterr().err
    assert f"cannot fetch pull request #7 from {url}" in err and "--remote-token-env" in err
    assert "Traceback" not in err and not out.with_suffix(".json").exists()


def test_a_wrong_token_is_not_echoed_even_with_git_tracing_on(
    private: tuple[Project, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, url, _head = private
    wrong = "ghs_wr0ngT0kenStillSecret"
    monkeypatch.setenv("GIT_TRACE_CURL", "1")  # a runner that traces git's HTTP traffic
    monkeypatch.setenv("GIT_TRACE_REDACT", "0")  # ... and asks git not to redact it
    with pytest.raises(GitError) as raised:
        fetch_pull(project, 7, url, tmp_path / "work", wrong)
    said = str(raised.value)
    assert "401" in said  # git's trace is in the message...
    wrong_header = base64.b64encode(f"x-access-token:{wrong}".encode()).decode()
    assert wrong not in said and wrong_header not in said  # ... but never the token
    assert _files_holding(tmp_path / "work", wrong, wrong_header) == []


def test_the_token_never_follows_a_redirect_to_another_origin(
    private: tuple[Project, str, str], host: GitHttpServer, tmp_path: Path
) -> None:
    project, url, _head = private
    elsewhere = GitHttpServer(
        tmp_path, "never", (tmp_path / "tls/cert.pem", tmp_path / "tls/key.pem")
    )
    try:
        host.redirect_to = elsewhere.url  # the origin sends the fetch to another port
        with pytest.raises(GitError, match="cannot fetch pull request #7"):
            fetch_pull(project, 7, url, tmp_path / "work", TOKEN)
    finally:
        elsewhere.close()
    assert host.seen and elsewhere.seen == []  # not followed, so the token went nowhere else


def test_the_command_line_reads_the_token_from_the_environment_it_names(
    private: tuple[Project, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, url, head = private
    monkeypatch.setenv("PRIVATE_TOKEN", TOKEN)
    out = tmp_path / "preview.md"
    args = ["preview", "-C", str(project.repo_root), "--pull-request", "7", "--remote", url,
            "--out", str(out), "--quiet", "--remote-token-env", "PRIVATE_TOKEN"]  # fmt: skip
    assert run(args) == 0
    report = load_report(out.with_suffix(".json").read_text(encoding="utf-8"), "preview.json")
    assert report.head_commit == head and LEAF in {v.id for v in report.leaves}
    monkeypatch.delenv("PRIVATE_TOKEN")
    assert run(args) == 2  # named but not set: a usage error before any fetch
    assert git(project.repo_root, "config", "--list").count(TOKEN) == 0
