"""A local GitHub REST API on 127.0.0.1: the part PyGithub uses for sticky PR comments.

Serves under ``/api/v3`` as GitHub Enterprise does, so the client's handling of a path prefix is
exercised too. Endpoints: ``GET /user``, ``GET /repos/{o}/{r}``, ``GET /repos/{o}/{r}/pulls/{n}``,
``GET /repos/{o}/{r}/commits/{sha}`` and ``.../pulls``, ``GET|POST /repos/{o}/{r}/issues/{n}/
comments`` (paginated with ``Link`` headers), ``PATCH|DELETE /repos/{o}/{r}/issues/comments/{id}``,
``GET /repos/{o}/{r}/collaborators/{login}/permission`` (``read`` for anyone not listed, 404 for
a login marked unknown) and ``GET /repos/{o}/{r}/issues/{n}/labels``.
Every request is recorded; scripted faults answer a matching request with a status (403, 429, ...)
and headers a given number of times.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/api/v3"
BOT = "github-actions[bot]"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None
    authorization: str | None


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    message: str
    headers: dict[str, str]
    times: int


@dataclass
class State:
    repos: dict[str, dict[int, str]] = field(default_factory=dict)  # name -> {pull: head sha}
    merged: dict[str, list[int]] = field(default_factory=dict)  # commit sha -> pull numbers
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    tokens: dict[str, str] = field(default_factory=dict)  # token -> login
    user_forbidden: set[str] = field(default_factory=set)  # logins whose GET /user is 403
    read_only: set[str] = field(default_factory=set)  # logins that cannot write
    permissions: dict[str, str] = field(default_factory=dict)  # login -> admin, write, read...
    unknown_users: set[str] = field(default_factory=set)  # logins GitHub does not know (404)
    labels: dict[int, list[str]] = field(default_factory=dict)  # pull number -> label names
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1000


class FakeGitHub:
    """Start with :meth:`start`; :attr:`url` is the API base (``GITHUB_API_URL``)."""

    def __init__(self) -> None:
        self.state = State()
        self.lock = threading.Lock()
        self.add_repo("octo/seeds", pulls=(7,))
        self.add_token("t0ken", BOT, user_forbidden=True)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PREFIX}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_repo(self, full_name: str, pulls: tuple[int, ...]) -> None:
        self.state.repos[full_name] = {n: f"{n:040x}" for n in pulls}

    def add_token(self, token: str, login: str, *, user_forbidden: bool = False) -> None:
        self.state.tokens[token] = login
        if user_forbidden:
            self.state.user_forbidden.add(login)

    def set_head(self, number: int, sha: str, repo: str = "octo/seeds") -> None:
        self.state.repos[repo][number] = sha

    def add_comment(self, repo: str, number: int, body: str, login: str) -> int:
        with self.lock:
            return self._create(repo, number, body, login)["id"]

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        message: str = "",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex)."""
        fault = Fault(method, re.compile(path), status, message, headers or {}, times)
        self.state.faults.append(fault)

    def comments(self, repo: str = "octo/seeds", number: int = 7) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.state.comments.values() if c["_key"] == (repo, number)]

    def requests(self, method: str | None = None) -> list[Request]:
        return [r for r in self.state.requests if method is None or r.method == method]

    # -- internals, called by the handler with the lock held ---------------------------------

    def _create(self, repo: str, number: int, body: str, login: str) -> dict[str, Any]:
        self.state.next_id += 1
        cid = self.state.next_id
        comment = {
            "id": cid,
            "_key": (repo, number),
            "body": body,
            "user": {"login": login, "id": abs(hash(login)) % 10**6, "type": "Bot"},
            "url": f"{self.url}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"https://github.invalid/{repo}/pull/{number}#issuecomment-{cid}",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
        self.state.comments[cid] = comment
        return comment

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.state.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault
        return None


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if not k.startswith("_")}


Reply = tuple[int, Any, dict[str, str]]


def _pull(base: str, number: int, head: str) -> dict[str, Any]:
    return {
        "id": number,
        "number": number,
        "state": "open",
        "url": f"{base}/pulls/{number}",
        "issue_url": f"{base}/issues/{number}",
        "html_url": f"https://github.invalid/pull/{number}",
        "head": {"sha": head, "ref": f"branch-{number}"},
    }


def _not_found() -> Reply:
    return 404, {"message": "Not Found"}, {}


def _route(
    gh: FakeGitHub, method: str, path: str, query: dict[str, list[str]], body: Any, login: str
) -> Reply:
    state = gh.state
    if path == "/user":
        if login in state.user_forbidden:
            return 403, {"message": "Resource not accessible by integration"}, {}
        return 200, {"login": login, "id": 1, "type": "User"}, {}
    match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
    if not match or match.group(1) not in state.repos:
        return _not_found()
    repo, rest = match.group(1), match.group(2) or ""
    base = f"{gh.url}/repos/{repo}"
    if rest == "" and method == "GET":
        owner, name = repo.split("/")
        return 200, {"id": 1, "name": name, "full_name": repo, "owner": {"login": owner},
                     "url": base}, {}  # fmt: skip
    pull = re.fullmatch(r"/pulls/(\d+)", rest)
    if pull and method == "GET":
        number = int(pull.group(1))
        if number not in state.repos[repo]:
            return _not_found()
        return 200, _pull(base, number, state.repos[repo][number]), {}
    if re.fullmatch(r"/commits/[0-9a-f]{40}", rest) and method == "GET":
        return 200, {"sha": rest.rsplit("/", 1)[1], "url": f"{base}{rest}"}, {}
    commit = re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", rest)
    if commit and method == "GET":
        numbers = state.merged.get(commit.group(1), [])
        return 200, [_pull(base, n, state.repos[repo][n]) for n in numbers], {}
    permission = re.fullmatch(r"/collaborators/([^/]+)/permission", rest)
    if permission and method == "GET":
        return _permission(gh, permission.group(1))
    labels = re.fullmatch(r"/issues/(\d+)/labels", rest)
    if labels and method == "GET":
        names = state.labels.get(int(labels.group(1)), [])
        return 200, [{"id": i, "name": n, "color": "ededed"} for i, n in enumerate(names)], {}
    listing = re.fullmatch(r"/issues/(\d+)/comments", rest)
    if listing:
        return _comments(gh, method, repo, int(listing.group(1)), query, body, login)
    one = re.fullmatch(r"/issues/comments/(\d+)", rest)
    if one:
        return _comment(gh, method, int(one.group(1)), body, login)
    return _not_found()


def _permission(gh: FakeGitHub, login: str) -> Reply:
    if login in gh.state.unknown_users:
        return _not_found()
    level = gh.state.permissions.get(login, "read")
    user = {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}
    return 200, {"permission": level, "role_name": level, "user": user}, {}


def _comments(
    gh: FakeGitHub,
    method: str,
    repo: str,
    number: int,
    query: dict[str, list[str]],
    body: Any,
    login: str,
) -> Reply:
    if number not in gh.state.repos[repo]:
        return _not_found()
    if method == "POST":
        if login in gh.state.read_only:
            return 403, {"message": "Resource not accessible by integration"}, {}
        return 201, _public(gh._create(repo, number, body["body"], login)), {}
    every = [c for c in gh.state.comments.values() if c["_key"] == (repo, number)]
    per_page = int(query.get("per_page", ["30"])[0])
    page = int(query.get("page", ["1"])[0])
    chunk = every[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(every):
        nxt = f"{gh.url}/repos/{repo}/issues/{number}/comments?per_page={per_page}&page={page + 1}"
        headers["Link"] = f'<{nxt}>; rel="next"'
    return 200, [_public(c) for c in chunk], headers


def _comment(gh: FakeGitHub, method: str, cid: int, body: Any, login: str) -> Reply:
    comment = gh.state.comments.get(cid)
    if comment is None:
        return _not_found()
    if comment["user"]["login"] != login or login in gh.state.read_only:
        return 403, {"message": "Resource not accessible by integration"}, {}
    if method == "PATCH":
        comment["body"] = body["body"]
        comment["updated_at"] = "2026-01-02T00:00:00Z"
        return 200, _public(comment), {}
    if method == "DELETE":
        del gh.state.comments[cid]
        return 204, None, {}
    return 200, _public(comment), {}


def _handler_for(gh: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            auth = self.headers.get("Authorization")
            path = parts.path.removeprefix(PREFIX)
            with gh.lock:
                gh.state.requests.append(Request(self.command, path, body, auth))
                reply = self._answer(path, parse_qs(parts.query), body, auth)
            self._send(*reply)

        def _answer(
            self, path: str, query: dict[str, list[str]], body: Any, auth: str | None
        ) -> Reply:
            if not self.path.startswith(PREFIX):
                return _not_found()
            fault = gh._take_fault(self.command, path)
            if fault is not None:
                return fault.status, {"message": fault.message}, fault.headers
            token = (auth or "").removeprefix("token ").removeprefix("Bearer ")
            login = gh.state.tokens.get(token)
            if login is None:
                return 401, {"message": "Bad credentials"}, {}
            return _route(gh, self.command, path, query, body, login)

        def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-RateLimit-Limit", "5000")
            self.send_header("X-RateLimit-Remaining", headers.pop("X-RateLimit-Remaining", "4999"))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    return Handler
