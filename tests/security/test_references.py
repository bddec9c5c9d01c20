"""One meaning for each document reference: what is checked is what is fetched (``file://`` URLs
decoded as git decodes them, SSH forms fetched over https), ``repo: .`` only at published
commits, no redirects, a bounded number of patterns, fetched repositories pruned, and a policy
that only the repository root's configuration sets."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from subprocess import CalledProcessError
from typing import ClassVar

import pytest
from attacks import SECRET, document_block, files_containing, knowledge_leaf, quoted, run_cli

from helpers import git
from seedtree.config import DocumentsConfig
from seedtree.errors import UsageError
from seedtree.home import documents_dir
from seedtree.project import find_repo_root
from seedtree.taxonomy.docfetch import FETCH_CONFIG, cache_key
from seedtree.taxonomy.docpolicy import RemoteRepository, classify
from seedtree.taxonomy.documents import load_documents
from seedtree.taxonomy.leaves import load_leaf

BIKE_DOC = "taxonomy/knowledge/history/technology/bicycle/bicycle_history.md"


def _doc_repo(folder: Path, text: str) -> str:
    """A git repository at ``folder`` holding ``notes.md``; returns its commit."""
    folder.mkdir(parents=True)
    git(folder, "init", "-q", "-b", "main")
    (folder / "notes.md").write_text(text, encoding="utf-8")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "documents")
    return git(folder, "rev-parse", "HEAD").strip()


def _allow_local(repo: Path, folder: Path) -> None:
    config = repo / "seedtree.yaml"
    config.write_text(config.read_text() + f"documents:\n  allowed_local: [{folder}]\n")


def _leaf(repo: Path, name: str, block: str) -> Path:
    return knowledge_leaf(repo, f"attack/{name}", block) / "qna.yaml"


def _fetched() -> list[str]:
    folder = documents_dir()
    return sorted(p.name for p in folder.iterdir() if len(p.name) == 24) if folder.is_dir() else []


# --- file:// URLs -----------------------------------------------------------------------------

ESCAPES = ["%2e%2e/outside", "%2E%2E/outside", ".%2e/outside", "%2e%2e%2foutside"]


def test_percent_encoded_file_url_cannot_leave_allowed_local(repo: Path, tmp_path: Path) -> None:
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    commit = _doc_repo(tmp_path / "outside", f"# private\n\n{SECRET}\n")
    (mirrors / "link").symlink_to(tmp_path / "outside")
    _allow_local(repo, mirrors)
    urls = [f"file://{mirrors}/{escape}" for escape in ESCAPES] + [f"file://{mirrors}/link"]
    bare = tmp_path / "probe.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(bare, "fetch", "-q", urls[0], commit)  # git itself decodes %2e%2e: the attack is real
    for i, url in enumerate(urls):
        qna = _leaf(repo, f"u{i}", document_block(quoted(url), "*.md", commit=commit))
        with pytest.raises(UsageError, match=r"outside documents\.allowed_local") as info:
            load_documents(load_leaf(qna, repo / "taxonomy"), repo)
        assert SECRET not in str(info.value)
    run = run_cli(repo, "validate", "--documents", "taxonomy/knowledge/attack")
    assert run.code == 1 and SECRET not in run.output
    for i in range(len(urls)):
        assert f"attack/u{i}/qna.yaml:9:3: error [document-repo]" in run.output
    assert _fetched() == []


def test_file_url_fetches_the_resolved_folder(repo: Path, tmp_path: Path) -> None:
    mirrors = tmp_path / "mirrors"
    commit = _doc_repo(mirrors / "my docs", "# notes\n\nmirrored\n")
    settings = DocumentsConfig(allowed_local=(str(mirrors),))
    url = f"file://{mirrors}/sub/%2e%2e/my%20docs"
    (mirrors / "sub").mkdir()
    kind = classify(url, settings)
    assert kind == RemoteRepository((mirrors / "my docs").as_uri())
    qna = _leaf(repo, "mirror", document_block(quoted(url), "*.md", commit=commit))
    (doc,) = load_documents(load_leaf(qna, repo / "taxonomy"), repo, settings=settings)
    assert doc.text == "# notes\n\nmirrored\n"
    assert _fetched() == [cache_key((mirrors / "my docs").as_uri(), commit)]


# --- SSH forms --------------------------------------------------------------------------------

SSH_FORMS = {
    "git@github.com:o/r.git": "https://github.com/o/r.git",
    "ssh://git@github.com/o/r": "https://github.com/o/r",
    "github.com:o/r.git": "https://github.com/o/r.git",
    "git@huggingface.co:datasets/o/r": "https://huggingface.co/datasets/o/r",
}
COMMIT = "5f7158a5ce83c4ff493bfe341fe31ecad64ff697"


def test_ssh_forms_on_allowed_hosts_are_read_as_https(repo: Path) -> None:
    for form, https in SSH_FORMS.items():
        assert classify(form, DocumentsConfig()) == RemoteRepository(https, written=form)
    _leaf(repo, "ssh", document_block(quoted("git@github.com:o/r.git"), "*.md", commit=COMMIT))
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack")
    assert run.code == 0, run.output
    assert (
        "attack/ssh/qna.yaml:9:3: warning [document-repo-ssh] 'git@github.com:o/r.git' is read as "
        "https://github.com/o/r.git and fetched over https, never over SSH"
    ) in run.output
    assert "[personal-data]" not in run.output


def test_ssh_form_is_never_fetched_over_ssh(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ssh-was-run"
    fake_ssh = tmp_path / "fake-ssh"
    fake_ssh.write_text(f'#!/bin/sh\necho "$@" > {marker}\nexit 1\n', encoding="utf-8")
    fake_ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(fake_ssh))
    with pytest.raises(CalledProcessError, match="exit status 128"):
        git(tmp_path, "ls-remote", "git@127.0.0.1:o/r.git")  # the probe: plain git runs SSH
    assert marker.exists()
    marker.unlink()
    config = repo / "seedtree.yaml"
    config.write_text(config.read_text() + "documents:\n  allowed_hosts: [127.0.0.1]\n")
    _leaf(repo, "ssh", document_block(quoted("git@127.0.0.1:o/r.git"), "*.md", commit=COMMIT))
    run = run_cli(repo, "validate", "--documents", "taxonomy/knowledge/attack")
    assert "[document-repo-ssh]" in run.output
    assert "'https://127.0.0.1/o/r.git' is unreachable" in run.output, run.output
    assert not marker.exists()


def test_corpus_leaves_in_ssh_form_are_no_longer_refused(tmp_path: Path) -> None:
    from helpers import corpus_or_skip
    from seedtree.config import ValidateConfig
    from seedtree.validate.api import validate_paths

    corpus = corpus_or_skip("instructlab-taxonomy-2025-04")
    copy = tmp_path / "ssh-form"
    shutil.copytree(corpus / "knowledge", copy / "knowledge")
    rewritten = 0
    for qna in sorted(copy.rglob("qna.yaml")):
        text = qna.read_text(encoding="utf-8")
        ssh = text.replace("repo: https://github.com/", "repo: git@github.com:")
        rewritten += ssh != text
        qna.write_text(ssh, encoding="utf-8")
    assert rewritten >= 2

    def rules(root: Path) -> dict[str, set[str]]:
        found = validate_paths([root / "knowledge"], config=ValidateConfig()).findings
        return {
            str(Path(f.file).relative_to(root)): {g.rule for g in found if g.file == f.file}
            for f in found
        }

    original, ssh_form = rules(corpus), rules(copy)
    warned = {file for file, rules in ssh_form.items() if "document-repo-ssh" in rules}
    assert len(warned) == rewritten
    only_errors = {f: r - {"document-repo-ssh"} for f, r in ssh_form.items()}
    assert {f: r for f, r in only_errors.items() if r} == original


# --- repo: . at a commit ----------------------------------------------------------------------

UNPUBLISHED = ["wip", "stash@{0}", "HEAD@{1}", "HEAD~1", "refs/heads/wip"]


def test_repo_dot_reads_only_full_shas(repo: Path, seedtree_env: Path) -> None:
    """A branch, a stash and a reflog entry hold revisions never published (here, a secret)."""
    (repo / "docs").mkdir()
    (repo / "docs" / "notes.md").write_text("# notes\n\npublic\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notes")
    git(repo, "checkout", "-q", "-b", "wip")
    (repo / "docs" / "notes.md").write_text(f"# notes\n\n{SECRET}\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "never pushed")
    git(repo, "checkout", "-q", "main")
    (repo / "docs" / "notes.md").write_text(f"# stashed\n\n{SECRET}\n", encoding="utf-8")
    git(repo, "stash", "-q")
    for i, ref in enumerate(UNPUBLISHED):
        qna = _leaf(repo, f"c{i}", document_block(".", "docs/*.md", commit=quoted(ref)))
        with pytest.raises(UsageError, match="must be a full SHA") as info:
            load_documents(load_leaf(qna, repo / "taxonomy"), repo)
        assert SECRET not in str(info.value)
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack")
    assert run.code == 1
    for i in range(len(UNPUBLISHED)):
        assert f"attack/c{i}/qna.yaml:10:11: error [document-commit-ref]" in run.output
    assert "[document-commit]" not in run.output
    run = run_cli(repo, "generate", "--dry-run", "taxonomy/knowledge/attack")
    assert run.code == 2 and SECRET not in run.output
    assert files_containing(seedtree_env, SECRET) == []


# --- redirects --------------------------------------------------------------------------------


class _Redirecting(BaseHTTPRequestHandler):
    """Answers every request for ``/moved.git`` with a 302 to ``/target.git``; logs paths."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path.startswith("/moved.git/"):
            self.send_response(302)
            target = self.path.replace("/moved.git/", "/target.git/", 1)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}{target}")
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def redirecting_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Redirecting,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/moved.git", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _fetch(bare: Path, url: str, config: list[str]) -> None:
    command = ["-c", "protocol.http.allow=always", *config, "fetch", "-q", "--depth=1", url, COMMIT]
    with pytest.raises(CalledProcessError, match="exit status 128"):
        git(bare, *command)


def test_document_fetches_do_not_follow_redirects(
    tmp_path: Path, redirecting_server: tuple[str, list[str]]
) -> None:
    """The fetcher's own git options against a real server answering 302 (http here: https
    would need a certificate git trusts; the redirect handling is the same)."""
    url, seen = redirecting_server
    bare = tmp_path / "fetch.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    at = FETCH_CONFIG.index("http.followRedirects=false")
    following = [*FETCH_CONFIG[: at - 1], *FETCH_CONFIG[at + 1 :]]
    _fetch(bare, url, following)  # the probe: without the option, git follows the 302
    assert any(path.startswith("/target.git/") for path in seen), seen
    seen.clear()
    _fetch(bare, url, list(FETCH_CONFIG))
    assert seen and all(path.startswith("/moved.git/") for path in seen), seen


# --- a bounded number of patterns -------------------------------------------------------------


def test_pattern_count_is_capped(repo: Path) -> None:
    qna = _leaf(repo, "many", document_block(".", *[BIKE_DOC] * 33))
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack")
    assert "attack/many/qna.yaml:10:3: error [document-patterns-count] 33 patterns" in run.output
    with pytest.raises(UsageError, match=r"33 patterns, over the cap of 32"):
        load_documents(load_leaf(qna, repo / "taxonomy"), repo)
    config = repo / "seedtree.yaml"
    config.write_text(config.read_text() + "documents:\n  max_patterns: 2\n")
    _leaf(repo, "three", document_block(".", *[BIKE_DOC] * 3))
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack/three")
    assert "[document-patterns-count] 3 patterns, over the cap of 2" in run.output


# --- fetched repositories are pruned ----------------------------------------------------------


def test_cache_gc_prunes_fetched_repositories(repo: Path, tmp_path: Path) -> None:
    mirrors = tmp_path / "mirrors"
    first = _doc_repo(mirrors / "docs", "# notes\n\nfirst\n")
    (mirrors / "docs" / "notes.md").write_text("# notes\n\nsecond\n", encoding="utf-8")
    git(mirrors / "docs", "commit", "-q", "-am", "second")
    second = git(mirrors / "docs", "rev-parse", "HEAD").strip()
    _allow_local(repo, mirrors)
    url = (mirrors / "docs").as_uri()
    qna = _leaf(repo, "fetched", document_block(url, "*.md", commit=first))
    load_documents(load_leaf(qna, repo / "taxonomy"), repo)
    qna.write_text(qna.read_text().replace(first, second), encoding="utf-8")
    load_documents(load_leaf(qna, repo / "taxonomy"), repo)
    assert _fetched() == sorted([cache_key(url, first), cache_key(url, second)])
    run = run_cli(repo, "cache", "gc")
    assert run.code == 0, run.output
    assert "documents: removed 1 fetched repository" in run.output
    assert _fetched() == [cache_key(url, second)]
    run = run_cli(repo, "cache", "gc")
    assert "documents: removed 0 fetched repositories" in run.output


# --- the policy comes from the repository root ------------------------------------------------


def test_nested_configuration_does_not_widen_the_policy(repo: Path, secret_file: Path) -> None:
    widen = "documents:\n  allowed_local: ['/']\nvalidate:\n  baseline: known.json\n"
    block = document_block(quoted(str(secret_file.parent)), "*.md")
    (repo / "taxonomy" / "seedtree.yaml").write_text(widen, encoding="utf-8")
    _leaf(repo, "flat", block)
    nested = repo / "taxonomy/knowledge/attack/nest"
    (nested / "knowledge/x/y").mkdir(parents=True)
    (nested / "seedtree.yaml").write_text(widen, encoding="utf-8")
    shutil.copy(repo / "taxonomy/knowledge/attack/flat/qna.yaml", nested / "knowledge/x/y")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a contribution with its own configuration")
    for start in (repo / "taxonomy", nested, nested / "knowledge/x/y"):
        assert find_repo_root(start) == repo
    for cwd in (repo, repo / "taxonomy", nested):
        run = run_cli(cwd, "validate", "--documents", str(repo / "taxonomy/knowledge/attack"))
        assert run.code == 1 and SECRET not in run.output
        assert run.output.count("error [document-repo]") == 2, run.output
        assert "or a folder under documents.allowed_local" not in run.output  # the root's policy


def test_a_project_below_the_git_top_keeps_its_configuration(tmp_path: Path) -> None:
    """A seedtree project in a folder of a larger repository (not inside a taxonomy) is found."""
    outer = tmp_path / "mono"
    (outer / "tools" / "seeds" / "taxonomy" / "knowledge").mkdir(parents=True)
    git(outer, "init", "-q", "-b", "main")
    (outer / "tools" / "seeds" / "seedtree.yaml").write_text("taxonomy_dir: taxonomy\n")
    start = outer / "tools" / "seeds" / "taxonomy" / "knowledge"
    assert find_repo_root(start) == outer / "tools" / "seeds"
    assert find_repo_root(outer / "tools") == outer
