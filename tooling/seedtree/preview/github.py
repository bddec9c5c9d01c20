"""One sticky comment per pull request, through GitHub's REST API (PyGithub).

The comment seedtree owns starts with a hidden marker and is written by the token's user: the
first run creates it, later runs edit it in place (or leave it if nothing changed), and a comment
that lacks the marker or was written by someone else is never touched. The API address comes from
``GITHUB_API_URL`` (GitHub Enterprise works), the token from ``GITHUB_TOKEN`` or ``GH_TOKEN``.
Rate limits are retried a bounded number of times, waiting as ``Retry-After`` or
``X-RateLimit-Reset`` say; a read-only token (a pull request from a fork) gets an error that says
so and what to do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from seedtree.errors import EXIT_OK, SeedtreeError, UsageError
from seedtree.preview import mdsafe
from seedtree.preview.model import load_report
from seedtree.preview.render import RELEASED_ANCHOR, links_from_env, render

if TYPE_CHECKING:
    from github import Github
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

MARKER = "<!-- seedtree:preview -->"
_MARKER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
DEFAULT_API_URL = "https://api.github.com"
ACTIONS_BOT = "github-actions[bot]"
MAX_RETRIES = 3
MAX_WAIT_S = 60.0
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")

T = TypeVar("T")
Sleep = Callable[[float], None]


class GitHubError(SeedtreeError):
    """The GitHub API refused or failed a request, after the retries it deserved."""


@dataclass(frozen=True)
class Target:
    """Where to comment and with what credentials."""

    repo: str
    pr: int
    api_url: str
    token: str
    author: str | None = None  # the token's login; looked up (or assumed) when None
    marker: str = MARKER
    head_sha: str | None = None  # post only if the pull request's head is still this commit


def marker_for(name: str) -> str:
    """The hidden marker of one kind of sticky comment (``preview``, ``retrain``)."""
    if not _MARKER_NAME.fullmatch(name):
        raise UsageError(f"--marker {name!r}: expected lowercase letters, digits and dashes")
    return f"<!-- seedtree:{name} -->"


@dataclass(frozen=True)
class CommentResult:
    action: Literal["created", "updated", "unchanged", "skipped"]
    comment_id: int
    url: str
    removed_duplicates: int = 0


def credentials_from_env(environ: Mapping[str, str]) -> tuple[str, str]:
    """The API URL (``GITHUB_API_URL``) and token (``GITHUB_TOKEN`` or ``GH_TOKEN``)."""
    token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN")
    if not token:
        raise UsageError(
            "no GitHub token: set GITHUB_TOKEN or GH_TOKEN",
            hint="in a workflow: env: {GITHUB_TOKEN: ${{ github.token }}} with "
            "permissions: {pull-requests: write}",
        )
    return (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"), token


def target_from_env(repo: str, pr: int, environ: Mapping[str, str], **options: Any) -> Target:
    """Validate ``repo``/``pr`` and read the API URL and token from the environment."""
    if not _REPO.fullmatch(repo):
        raise UsageError(f"--repo {repo!r}: expected OWNER/NAME, e.g. octo/taxonomy")
    if pr <= 0:
        raise UsageError(f"--pr {pr}: expected a pull request number (a positive integer)")
    api_url, token = credentials_from_env(environ)
    return Target(repo=repo, pr=pr, api_url=api_url, token=token, **options)


# -- errors and retries --------------------------------------------------------------------------


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _message(exc: Any) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return str(getattr(exc, "message", None) or exc)


def _is_rate_limited(status: int, headers: Mapping[str, Any] | None, message: str) -> bool:
    if status == 429:
        return True
    exhausted = _header(headers, "x-ratelimit-remaining") == "0"
    return status == 403 and (exhausted or "rate limit" in message.lower())


def rate_limit_wait(headers: Mapping[str, Any] | None, attempt: int, now: float) -> float:
    """Seconds to wait before retrying: ``Retry-After``, else until the reset, else backoff."""
    retry_after = _header(headers, "retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after)
    reset = _header(headers, "x-ratelimit-reset")
    if reset is not None and reset.strip().isdigit():
        return max(0.0, float(reset) - now) + 1.0
    return float(2**attempt)


def _forbidden(target: Target, what: str, message: str) -> GitHubError:
    return GitHubError(
        f"GitHub refused to {what} on {target.repo}#{target.pr} (403: {message}). The token is "
        "read-only, as GITHUB_TOKEN is in workflows run for pull requests from forks.",
        hint="post the comment from the preview-comment workflow (on workflow_run, with "
        "permissions: {pull-requests: write}) rather than from the pull_request workflow",
    )


def _translate(exc: Any, target: Target, what: str) -> SeedtreeError:
    status, message = int(getattr(exc, "status", 0)), _message(exc)
    if status == 401:
        return GitHubError(
            f"GitHub rejected the token (401: {message}) at {target.api_url}",
            hint="check GITHUB_TOKEN / GH_TOKEN, and GITHUB_API_URL for GitHub Enterprise",
        )
    if status == 403:
        return _forbidden(target, what, message)
    if status == 404:
        where = f"{target.repo}#{target.pr}" if target.pr else target.repo
        return UsageError(
            f"cannot {what}: {where} not found at {target.api_url} (404)",
            hint="check --repo, --pr or --commit, and that the token can read the repository",
        )
    return GitHubError(f"GitHub failed to {what} on {target.repo}#{target.pr}: {status} {message}")


def _retrying(
    target: Target, what: str, call: Callable[[], T], sleep: Sleep, now: Callable[[], float]
) -> T:
    """Run ``call``, retrying rate-limit answers at most :data:`MAX_RETRIES` times."""
    from github.GithubException import GithubException
    from requests.exceptions import RequestException

    for attempt in range(MAX_RETRIES + 1):
        try:
            return call()
        except GithubException as exc:
            headers, message = exc.headers, _message(exc)
            if not _is_rate_limited(exc.status, headers, message):
                raise _translate(exc, target, what) from None
            wait = rate_limit_wait(headers, attempt, now())
            if attempt == MAX_RETRIES or wait > MAX_WAIT_S:
                raise GitHubError(
                    f"GitHub rate limit while trying to {what} ({exc.status}: {message}); "
                    f"gave up after {attempt + 1} attempts (next retry in {wait:.0f} s)",
                    hint="run the job again later",
                ) from None
            sleep(wait)
        except RequestException as exc:
            raise GitHubError(f"cannot reach GitHub at {target.api_url}: {exc}") from None
    raise AssertionError("unreachable")


# -- the sticky comment --------------------------------------------------------------------------


def _client(target: Target) -> Github:
    from github import Auth, Github

    return Github(
        base_url=target.api_url,
        auth=Auth.Token(target.token),
        retry=None,
        timeout=30,
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def _whoami(client: Github) -> str:
    """The token's login; ``github-actions[bot]`` when the token cannot read ``/user``."""
    from github.GithubException import GithubException

    try:
        return str(client.get_user().login)
    except GithubException as exc:
        if exc.status == 403:  # an Actions or App installation token
            return ACTIONS_BOT
        raise


def is_ours(comment: IssueComment, author: str, marker: str = MARKER) -> bool:
    """A comment seedtree owns: written by ``author`` and starting with the marker."""
    return comment.user.login == author and (comment.body or "").startswith(marker)


def with_marker(body: str, marker: str = MARKER) -> str:
    """``body`` behind the marker, cut (at a line, structures closed) to GitHub's limit."""
    room = mdsafe.GITHUB_LIMIT - mdsafe.utf16_len(marker) - 1
    return f"{marker}\n{mdsafe.fit(body, room)}"


@dataclass(frozen=True)
class _Session:
    target: Target
    sleep: Sleep
    now: Callable[[], float]

    def call(self, what: str, fn: Callable[[], T]) -> T:
        return _retrying(self.target, what, fn, self.sleep, self.now)


Body = str | Callable[[str | None], str]  # the text, or the text given the comment's current one


def _ours(session: _Session, pull: PullRequest, author: str, marker: str) -> list[IssueComment]:
    comments = session.call("list comments", lambda: list(pull.get_issue_comments()))
    return [c for c in comments if is_ours(c, author, marker)]


def _upsert(session: _Session, pull: PullRequest, author: str, text: Body) -> CommentResult:
    marker = session.target.marker
    ours = _ours(session, pull, author, marker)
    current = ours[0].body.removeprefix(marker + "\n") if ours else None
    body = with_marker(text if isinstance(text, str) else text(current), marker)
    if not ours:
        made = session.call("create the comment", lambda: pull.create_issue_comment(body))
        return CommentResult("created", made.id, made.html_url)
    keep, extra = ours[0], ours[1:]
    for duplicate in extra:
        session.call("delete a duplicate comment", duplicate.delete)
    if keep.body == body:
        return CommentResult("unchanged", keep.id, keep.html_url, len(extra))
    session.call("edit the comment", lambda: keep.edit(body))
    return CommentResult("updated", keep.id, keep.html_url, len(extra))


def sticky_comment(
    target: Target,
    body: Body,
    *,
    sleep: Sleep = time.sleep,
    now: Callable[[], float] = time.time,
) -> CommentResult:
    """Create or edit seedtree's one comment on ``target.pr``; never touch anyone else's."""
    from github.GithubException import GithubException

    client = _client(target)
    session = _Session(target, sleep, now)
    try:
        author = target.author or session.call("identify the token", lambda: _whoami(client))
        repo = session.call("read the repository", lambda: client.get_repo(target.repo))
        pull = session.call("read the pull request", lambda: repo.get_pull(target.pr))
        if target.head_sha is not None and pull.head.sha != target.head_sha:
            return CommentResult("skipped", 0, pull.html_url or "")
        result = _upsert(session, pull, author, body)
        if target.marker == marker_for("retrain") and result.action != "skipped":
            link_released(session, pull, author, result.url)
        return result
    except GithubException as exc:  # raised outside the retry wrapper (lazy attributes)
        raise _translate(exc, target, "comment") from None
    finally:
        client.close()


def link_released(session: _Session, pull: PullRequest, author: str, url: str) -> None:
    """Link each leaf section of the preview comment to the retrain comment at ``url``."""
    for comment in _ours(session, pull, author, MARKER):
        body = with_released_link(comment.body, url)
        if body != comment.body:
            session.call("link the preview to the released result", partial(comment.edit, body))


_RELEASED = re.compile(re.escape(RELEASED_ANCHOR) + r"(\n\n\*\*After the merge:\*\*[^\n]*)?")


def with_released_link(body: str, url: str) -> str:
    """``body`` with, after every leaf's anchor, a line linking to the released result."""
    try:
        link = mdsafe.link("the retrain comment", url)
    except ValueError:
        return body
    line = f"{RELEASED_ANCHOR}\n\n**After the merge:** the released model's answers are in {link}"
    return _RELEASED.sub(lambda _: line, body)


def pull_for_commit(
    target: Target, sha: str, *, sleep: Sleep = time.sleep, now: Callable[[], float] = time.time
) -> int | None:
    """The pull request that brought ``sha`` into its branch (``target.pr`` is not used)."""
    from github.GithubException import GithubException

    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise UsageError(f"--commit {sha!r}: expected a full 40-character commit SHA")
    client = _client(target)
    session = _Session(target, sleep, now)
    try:
        repo = session.call("read the repository", lambda: client.get_repo(target.repo))
        commit = session.call("read the commit", lambda: repo.get_commit(sha))
        pulls = session.call("find its pull request", lambda: list(commit.get_pulls()))
    except GithubException as exc:
        raise _translate(exc, target, "find the pull request") from None
    finally:
        client.close()
    return int(pulls[0].number) if pulls else None


def append_step_summary(body: str, environ: Mapping[str, str]) -> Path | None:
    """Append ``body`` to ``$GITHUB_STEP_SUMMARY`` (GitHub's file is append-only by design)."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as f:
        f.write(mdsafe.fit(body, 1_000_000) + "\n")
    return Path(path)


def read_body(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the comment body: {exc}") from None


def comment_body(path: Path, environ: Mapping[str, str], head_sha: str | None) -> tuple[str, Body]:
    """The Markdown shown, and the comment's body: Markdown as is, or ``preview.json``
    re-rendered here with every PR string escaped, as its section of the comment (the other
    section is kept when it is for the same head)."""
    text = read_body(path)
    if path.suffix != ".json":
        return text, text

    report = load_report(text, str(path))
    rendered = render(report, links_from_env(environ, head_sha or report.head_commit))
    head = head_sha or report.head_commit or "none"
    head = head if re.fullmatch(r"[0-9a-f]{7,64}", head) else "none"
    name = "production" if report.production else "default"
    return rendered, lambda current: with_section(current, name, head, rendered)


SECTIONS = ("production", "default")  # their order in the comment
_SECTION = re.compile(
    r"^<!-- seedtree:section (production|default) ([0-9a-f]{7,64}|none) -->$", re.M
)


def sections(body: str | None) -> dict[str, tuple[str, str]]:
    """The sections of a preview comment: name -> (head commit, text)."""
    found = list(_SECTION.finditer(body or ""))
    out = {}
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(body or "")
        out[match.group(1)] = (match.group(2), (body or "")[match.end() : end].strip("\n"))
    return out


def with_section(current: str | None, name: str, head: str, text: str) -> str:
    """The comment with section ``name`` set to ``text``; the other section stays only when it
    describes the same head commit (a newer push makes it stale), each fitted to its share."""
    kept = {k: v for k, v in sections(current).items() if k != name and v[0] == head}
    kept[name] = (head, text)
    share = (mdsafe.COMMENT_BUDGET // len(kept)) if len(kept) > 1 else mdsafe.COMMENT_BUDGET
    parts = [
        f"<!-- seedtree:section {key} {kept[key][0]} -->\n{mdsafe.fit(kept[key][1], share)}"
        for key in SECTIONS
        if key in kept
    ]
    return "\n\n---\n\n".join(parts)


def post_comment(target: Target, body: tuple[str, Body], environ: Mapping[str, str]) -> int:
    result = sticky_comment(target, body[1])
    summary = append_step_summary(body[0], environ)
    where = f"{target.repo}#{target.pr}"
    if result.action == "skipped":
        print(f"skipped {where}: its head is no longer {target.head_sha} (a newer run will post)")
        return EXIT_OK
    note = (
        f", {result.removed_duplicates} duplicate(s) removed" if result.removed_duplicates else ""
    )
    print(f"{result.action} comment {result.comment_id} on {where}: {result.url}{note}")
    if summary is not None:
        print(f"step summary: {summary}")
    return EXIT_OK


# -- who may trigger the production preview ------------------------------------------------------

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?")


def permission(
    target: Target, login: str, *, sleep: Sleep = time.sleep, now: Callable[[], float] = time.time
) -> str:
    """``login``'s permission on ``target.repo`` as GitHub's API says it (``none`` for an
    unknown user): ``GET /repos/{owner}/{repo}/collaborators/{login}/permission``."""
    from github.GithubException import GithubException

    if not _LOGIN.fullmatch(login):
        raise UsageError(f"--user {login!r}: not a GitHub login")
    client = _client(target)
    session = _Session(target, sleep, now)
    try:
        repo = session.call("read the repository", lambda: client.get_repo(target.repo))
        try:
            return str(repo.get_collaborator_permission(login))
        except GithubException as exc:
            if exc.status == 404:  # no such user
                return "none"
            raise _translate(exc, target, "read the permission") from None
    finally:
        client.close()
