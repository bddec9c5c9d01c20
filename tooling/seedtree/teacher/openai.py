"""The ``openai`` backend: any OpenAI-compatible server (vLLM, llama.cpp, ``seedtree serve``).

Requests run concurrently (at most ``max_in_flight`` at once) over asyncio and httpx, spread
round-robin over several base URLs. A 429, a 5xx, a timeout, a dropped connection, a malformed
body or fewer choices than asked are retried with exponential backoff (honouring ``Retry-After``)
on the next base URL; after ``max_retries`` retries a :class:`~seedtree.errors.TeacherError`
names the request, the server and the last problem. Other 4xx answers (a prompt longer than the
context, an unknown model) fail at once. Labels are scored from the ``top_logprobs`` of the first
answer token.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import random
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from seedtree.errors import ConfigError, TeacherError
from seedtree.teacher.base import (
    Completion,
    LabelScores,
    Message,
    OnResult,
    ScoreRequest,
    TeacherRequest,
    TeacherResponse,
)
from seedtree.teacher.labels import label_logprobs

if TYPE_CHECKING:
    import httpx

    from seedtree.config import TeacherConfig

T = TypeVar("T")
MAX_BACKOFF_S = 30.0


class RetryableError(Exception):
    """A failure worth another attempt (maybe on another server)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenAITeacher:
    """A :class:`~seedtree.teacher.base.Teacher` talking to OpenAI-compatible servers."""

    def __init__(
        self,
        base_urls: Sequence[str],
        model: str,
        *,
        api_key: str | None = None,
        max_in_flight: int = 16,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        score_top_logprobs: int = 20,
    ) -> None:
        if not base_urls:
            raise ConfigError(
                "teacher.base_urls is empty: the openai backend needs at least one server",
                hint="e.g. base_urls: [http://127.0.0.1:8000/v1] (see `seedtree serve`)",
            )
        self.base_urls = tuple(url.rstrip("/") for url in base_urls)
        self.model = model
        self.api_key = api_key
        self.max_in_flight = max(1, max_in_flight)
        self.timeout_s = timeout_s
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self.score_top_logprobs = score_top_logprobs
        self._next_url = itertools.cycle(range(len(self.base_urls)))

    @property
    def id(self) -> str:
        return f"openai:{self.model}"

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        async def one(client: httpx.AsyncClient, index: int) -> TeacherResponse:
            body = completion_body(self.model, requests[index])
            response = await self._call(client, index, body, _parse_completion(requests[index]))
            if on_result is not None:
                on_result(index, response)
            return response

        return self._run_all(len(requests), one)

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        async def one(client: httpx.AsyncClient, index: int) -> LabelScores:
            req = requests[index]
            body = score_body(self.model, req, self.score_top_logprobs)
            top = await self._call(client, index, body, _parse_first_token_logprobs)
            return LabelScores.from_logprobs(label_logprobs(top, req.labels))

        return self._run_all(len(requests), one)

    def close(self) -> None:
        return None

    # --- concurrency ----------------------------------------------------------------------

    def _run_all(
        self, count: int, one: Callable[[httpx.AsyncClient, int], Awaitable[T]]
    ) -> list[T]:
        async def main() -> list[T]:
            import httpx

            limits = httpx.Limits(max_connections=self.max_in_flight)
            gate = asyncio.Semaphore(self.max_in_flight)

            async def bounded(client: httpx.AsyncClient, index: int) -> T:
                async with gate:
                    return await one(client, index)

            async with httpx.AsyncClient(timeout=self.timeout_s, limits=limits) as client:
                try:
                    async with asyncio.TaskGroup() as group:
                        tasks = [group.create_task(bounded(client, i)) for i in range(count)]
                except ExceptionGroup as errors:
                    raise _first_error(errors) from None
            return [task.result() for task in tasks]

        return _run_coroutine(main) if count else []

    async def _call(
        self,
        client: httpx.AsyncClient,
        index: int,
        body: dict[str, Any],
        parse: Callable[[Any], T],
    ) -> T:
        """POST one request with retries; ``parse`` turns the JSON into the result."""
        problem = ""
        url = self.base_urls[0]
        for attempt in range(self.max_retries + 1):
            url = self.base_urls[next(self._next_url)]
            try:
                return parse(await self._post(client, url, index, body))
            except RetryableError as exc:
                problem = str(exc)
                if attempt < self.max_retries:
                    await asyncio.sleep(self._delay(attempt, exc.retry_after))
        raise TeacherError(
            f"request {index}: {problem} (from {url}, after {self.max_retries + 1} attempts)",
            hint="check that the server is up and not overloaded; teacher.max_retries, "
            "teacher.timeout_s and teacher.max_in_flight tune the retry budget",
        )

    async def _post(
        self, client: httpx.AsyncClient, url: str, index: int, body: dict[str, Any]
    ) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            reply = await client.post(f"{url}/chat/completions", json=body, headers=headers)
        except httpx.TimeoutException:
            raise RetryableError(f"no answer within {self.timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise RetryableError(f"connection failed: {exc!r}") from None
        if reply.status_code == 429 or reply.status_code >= 500:
            raise RetryableError(
                f"HTTP {reply.status_code}: {_error_message(reply)}",
                _retry_after(reply.headers.get("Retry-After")),
            )
        if reply.status_code >= 400:
            raise TeacherError(
                f"request {index}: {url} refused it with HTTP {reply.status_code}: "
                f"{_error_message(reply)}",
                hint="a prompt longer than the model's context must be shortened; check "
                "teacher.model and the API key variable teacher.api_key_env",
            )
        try:
            return reply.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RetryableError(f"malformed JSON in the answer: {reply.text[:80]!r}") from None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_BACKOFF_S)
        backoff: float = self.backoff_s * 2.0**attempt
        return min(backoff, MAX_BACKOFF_S) * random.uniform(0.75, 1.25)


def create(config: TeacherConfig) -> OpenAITeacher:
    """Build the openai backend from configuration (API key from ``config.api_key_env``)."""
    return OpenAITeacher(
        config.base_urls,
        config.model,
        api_key=os.environ.get(config.api_key_env) or None,
        max_in_flight=config.max_in_flight,
        timeout_s=config.timeout_s,
        max_retries=config.max_retries,
        backoff_s=config.retry_backoff_s,
        score_top_logprobs=config.score_top_logprobs,
    )


def completion_body(model: str, request: TeacherRequest) -> dict[str, Any]:
    """The chat completion body for one request."""
    body: dict[str, Any] = {
        "model": model,
        "messages": _messages(request.messages),
        "n": request.n,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
    }
    if request.stop:
        body["stop"] = list(request.stop)
    return body


def score_body(model: str, request: ScoreRequest, top_logprobs: int) -> dict[str, Any]:
    """A one-token greedy completion asking for the first token's most likely alternatives."""
    return {
        "model": model,
        "messages": _messages(request.messages),
        "n": 1,
        "temperature": 0.0,
        "max_tokens": 1,
        "logprobs": True,
        "top_logprobs": top_logprobs,
        "seed": 0,
    }


def _parse_completion(request: TeacherRequest) -> Callable[[Any], TeacherResponse]:
    def parse(data: Any) -> TeacherResponse:
        choices = _choices(data)
        if len(choices) < request.n:
            raise RetryableError(
                f"the server returned {len(choices)} of {request.n} choices asked for "
                "(it may not support n > 1)"
            )
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        completions = []
        for choice in sorted(choices, key=lambda c: c.get("index", 0))[: request.n]:
            content = (choice.get("message") or {}).get("content")
            if not isinstance(content, str):
                raise RetryableError("malformed answer: a choice has no message content")
            finish = str(choice.get("finish_reason") or "stop")
            completions.append(Completion(content, finish, _tokens(choice, usage, request.n)))
        return TeacherResponse(tuple(completions), int(usage.get("prompt_tokens") or 0))

    return parse


def _parse_first_token_logprobs(data: Any) -> list[tuple[str, float]]:
    choices = _choices(data)
    if not choices:
        raise RetryableError("the server returned no choices")
    content = ((choices[0].get("logprobs") or {}).get("content")) or []
    if not content or not isinstance(content[0], dict):
        raise TeacherError(
            "the server returned no logprobs: label scoring needs logprobs and top_logprobs",
            hint="use a server that supports them (vLLM, llama.cpp, seedtree serve)",
        )
    alternatives = content[0].get("top_logprobs") or [content[0]]
    return [(str(a.get("token", "")), float(a.get("logprob", -math.inf))) for a in alternatives]


def _choices(data: Any) -> list[dict[str, Any]]:
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise RetryableError("malformed answer: no list of choices")
    return choices


def _tokens(choice: dict[str, Any], usage: dict[str, Any], n: int) -> int:
    """A choice's token count: from its logprobs, else its share of ``usage``."""
    content = (choice.get("logprobs") or {}).get("content")
    if isinstance(content, list):
        return len(content)
    return round(int(usage.get("completion_tokens") or 0) / n)


def _messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _error_message(reply: httpx.Response) -> str:
    try:
        error = reply.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)
    except (ValueError, AttributeError):
        pass
    return reply.text[:200] or reply.reason_phrase


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_error(error)
        if isinstance(error, TeacherError):
            return error
    return group.exceptions[0]


def _run_coroutine(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main`` to completion, also when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value
