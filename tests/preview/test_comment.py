"""The sticky PR comment against a local GitHub API server (real HTTP, real PyGithub)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_github import BOT, FakeGitHub

from seedtree.cli import run
from seedtree.errors import SeedtreeError, UsageError
from seedtree.preview import github as gh

REPO, PR = "octo/seeds", 7


def _target(server: FakeGitHub, token: str = "t0ken") -> gh.Target:
    return gh.Target(repo=REPO, pr=PR, api_url=server.url, token=token)


def _post(server: FakeGitHub, body: str, sleeps: list[float] | None = None) -> gh.CommentResult:
    waits = sleeps if sleeps is not None else []
    return gh.sticky_comment(_target(server), body, sleep=waits.append)


def test_first_run_creates_then_edits_the_same_comment(github: FakeGitHub) -> None:
    first = _post(github, "preview one")
    assert first.action == "created"
    second = _post(github, "preview two")
    assert (second.action, second.comment_id) == ("updated", first.comment_id)
    comments = github.comments()
    assert len(comments) == 1
    assert comments[0]["body"] == f"{gh.MARKER}\npreview two"
    assert len(github.requests("POST")) == 1
    assert [r.path for r in github.requests("PATCH")] == [
        f"/repos/{REPO}/issues/comments/{first.comment_id}"
    ]


def test_same_body_is_not_rewritten(github: FakeGitHub) -> None:
    _post(github, "same")
    assert _post(github, "same").action == "unchanged"
    assert github.requests("PATCH") == []


def test_foreign_comments_that_look_alike_are_left_alone(github: FakeGitHub) -> None:
    other = github.add_comment(REPO, PR, f"{gh.MARKER}\ncopied by a person", "mallory")
    unmarked = github.add_comment(REPO, PR, "preview (no marker)", BOT)
    quoted = github.add_comment(REPO, PR, f"> {gh.MARKER}\nquoting it", BOT)
    result = _post(github, "ours")
    assert result.action == "created"
    assert result.comment_id not in {other, unmarked, quoted}
    bodies = {c["id"]: c["body"] for c in github.comments()}
    assert bodies[other] == f"{gh.MARKER}\ncopied by a person"
    assert bodies[unmarked] == "preview (no marker)"
    assert github.requests("PATCH") == [] and github.requests("DELETE") == []


def test_finds_its_comment_on_a_later_page(github: FakeGitHub) -> None:
    mine = github.add_comment(REPO, PR, f"{gh.MARKER}\nold", BOT)
    for i in range(120):
        github.add_comment(REPO, PR, f"chatter {i}", "someone")
    result = _post(github, "new")
    assert (result.action, result.comment_id) == ("updated", mine)
    assert len(github.comments()) == 121


def test_duplicates_of_our_own_comment_are_removed(github: FakeGitHub) -> None:
    first = github.add_comment(REPO, PR, f"{gh.MARKER}\na", BOT)
    github.add_comment(REPO, PR, f"{gh.MARKER}\nb", BOT)
    result = _post(github, "c")
    assert (result.comment_id, result.removed_duplicates) == (first, 1)
    assert [c["id"] for c in github.comments()] == [first]


def test_rate_limit_429_is_retried_after_the_given_wait(github: FakeGitHub) -> None:
    github.fail("POST", r"/comments$", 429, message="slow down", headers={"Retry-After": "2"})
    sleeps: list[float] = []
    assert _post(github, "x", sleeps).action == "created"
    assert sleeps == [2.0]
    assert len(github.requests("POST")) == 2
    assert len(github.comments()) == 1


def test_rate_limit_retries_are_bounded(github: FakeGitHub) -> None:
    github.fail("GET", r"/pulls/7$", 429, headers={"Retry-After": "1"}, times=10)
    sleeps: list[float] = []
    with pytest.raises(gh.GitHubError, match=r"rate limit.*gave up after 4 attempts"):
        _post(github, "x", sleeps)
    assert len(sleeps) == gh.MAX_RETRIES


def test_primary_rate_limit_far_away_fails_at_once(github: FakeGitHub) -> None:
    reset = "9999999999"
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    github.fail(
        "GET", r"/repos/octo/seeds$", 403, message="API rate limit exceeded", headers=headers
    )
    sleeps: list[float] = []
    with pytest.raises(gh.GitHubError, match="rate limit"):
        _post(github, "x", sleeps)
    assert sleeps == []


def test_read_only_token_gets_a_clear_fork_error(github: FakeGitHub) -> None:
    github.state.read_only.add(BOT)
    with pytest.raises(gh.GitHubError, match=r"403.*read-only.*forks") as err:
        _post(github, "x")
    assert "preview-comment" in str(err.value)
    assert github.comments() == []


def test_bad_token_and_unknown_pr(github: FakeGitHub) -> None:
    with pytest.raises(gh.GitHubError, match="401"):
        gh.sticky_comment(_target(github, token="nope"), "x")
    target = gh.Target(repo=REPO, pr=99, api_url=github.url, token="t0ken")
    with pytest.raises(UsageError, match="octo/seeds#99 not found"):
        gh.sticky_comment(target, "x")


def test_personal_token_posts_as_its_user(github: FakeGitHub) -> None:
    github.add_token("pat", "alice")
    github.add_comment(REPO, PR, f"{gh.MARKER}\nbot's", BOT)
    result = gh.sticky_comment(_target(github, token="pat"), "alice's")
    assert result.action == "created"
    assert len(github.comments()) == 2


def test_body_over_the_limit_is_cut_with_a_note(github: FakeGitHub) -> None:
    _post(github, "line\n" * 20_000)
    body = github.comments()[0]["body"]
    assert len(body) <= 65_536
    assert "is not shown" in body


def test_cli_comment_writes_step_summary(
    github_env: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    body = tmp_path / "preview.md"
    body.write_text("## Preview\n\nall good\n", encoding="utf-8")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert run(["comment", "--repo", REPO, "--pr", str(PR), "--body", str(body)]) == 0
    assert "created comment" in capsys.readouterr().out
    assert summary.read_text(encoding="utf-8") == "earlier step\n## Preview\n\nall good\n\n"
    assert run(["comment", "--repo", REPO, "--pr", str(PR), "--body", str(body)]) == 0
    assert "unchanged comment" in capsys.readouterr().out
    assert len(github_env.comments()) == 1


def test_cli_without_token_is_a_usage_error(tmp_path: Path, capsys) -> None:
    body = tmp_path / "preview.md"
    body.write_text("x", encoding="utf-8")
    assert run(["comment", "--repo", REPO, "--pr", "7", "--body", str(body)]) == 2
    assert "no GitHub token" in capsys.readouterr().err


def test_target_validation() -> None:
    env = {"GH_TOKEN": "t"}
    assert gh.target_from_env(REPO, 1, env).api_url == gh.DEFAULT_API_URL
    for repo, pr in (("not a repo", 1), (REPO, 0)):
        with pytest.raises(UsageError):
            gh.target_from_env(repo, pr, env)


def test_rate_limit_wait_reads_headers() -> None:
    assert gh.rate_limit_wait({"Retry-After": "5"}, 0, now=100.0) == 5.0
    assert gh.rate_limit_wait({"x-ratelimit-reset": "130"}, 0, now=100.0) == 31.0
    assert gh.rate_limit_wait({}, 2, now=100.0) == 4.0
    assert issubclass(gh.GitHubError, SeedtreeError)


def test_stale_head_sha_skips_posting(github: FakeGitHub) -> None:
    head = github.state.repos[REPO][PR]
    stale = gh.Target(repo=REPO, pr=PR, api_url=github.url, token="t0ken", head_sha="f" * 40)
    assert gh.sticky_comment(stale, "x").action == "skipped"
    assert github.comments() == []
    fresh = gh.Target(repo=REPO, pr=PR, api_url=github.url, token="t0ken", head_sha=head)
    assert gh.sticky_comment(fresh, "x").action == "created"


def test_markers_keep_preview_and_retrain_comments_apart(github: FakeGitHub) -> None:
    _post(github, "preview")
    retrain = gh.Target(
        repo=REPO, pr=PR, api_url=github.url, token="t0ken", marker=gh.marker_for("retrain")
    )
    assert gh.sticky_comment(retrain, "v2 released").action == "created"
    assert gh.sticky_comment(retrain, "v3 released").action == "updated"
    bodies = sorted(c["body"] for c in github.comments())
    assert bodies == [f"{gh.MARKER}\npreview", "<!-- seedtree:retrain -->\nv3 released"]
    with pytest.raises(UsageError, match="--marker"):
        gh.marker_for("--><b>")


def test_cli_comments_on_the_pull_request_that_merged_a_commit(
    github_env: FakeGitHub, tmp_path: Path, capsys
) -> None:
    sha = "9" * 40
    github_env.state.merged[sha] = [PR]
    body = tmp_path / "summary.md"
    body.write_text("model v2 released", encoding="utf-8")
    args = ["comment", "--repo", REPO, "--commit", sha, "--marker", "retrain", "--body", str(body)]
    assert run(args) == 0
    (comment,) = github_env.comments()
    assert comment["body"] == "<!-- seedtree:retrain -->\nmodel v2 released"
    assert run([*args[:4], "8" * 40, *args[5:]]) == 0
    assert "no pull request found" in capsys.readouterr().out
    assert run(["comment", "--repo", REPO, "--body", str(body)]) == 2


def test_cli_renders_preview_json_with_trusted_links(
    github_env: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seedtree.preview.model import FindingView, LeafPreview, PreviewReport

    finding = FindingView(
        file="taxonomy/a/qna.yaml", line=4, column=1, severity="error", rule="r", message="@x"
    )
    leaf = LeafPreview(id="compositional_skills/a", change="added", findings=[finding])
    report = PreviewReport(base_ref="main", samples_per_leaf=1, leaves=[leaf], head_commit="e" * 40)
    path = tmp_path / "preview.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    head = github_env.state.repos[REPO][PR]
    args = ["comment", "--repo", REPO, "--pr", "7", "--head-sha", head, "--body", str(path)]
    assert run(args) == 0
    body = github_env.comments()[0]["body"]
    assert f"https://github.example/{REPO}/blob/{head}/taxonomy/a/qna.yaml#L4" in body
    assert "@\u200bx" in body
    path.write_text('{"leaves": "<b>"}', encoding="utf-8")
    assert run(args) == 2
