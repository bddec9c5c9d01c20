"""Batching for ``seedtree serve``: HTTP threads put requests on one bounded queue; a single
worker thread drains everything queued into one call of the embedded backend, then hands each
caller its own result. :meth:`BatchingEngine.stop` cancels the batch being decoded (between two
decoding steps) and answers it and everything queued with :class:`WorkerGone`.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from seedtree.errors import Interrupted
from seedtree.teacher.base import TeacherRequest
from seedtree.teacher.embedded import EmbeddedTeacher, Generated

MAX_GATHER_S = 0.25  # longest a request waits for others to join its batch


class ServerBusy(Exception):
    """The queue of requests waiting for the model is full."""


class WorkerGone(Exception):
    """The thread that runs the model has stopped: nothing queued will be answered."""


@dataclass
class _Job:
    request: TeacherRequest
    top_logprobs: int
    done: threading.Event = field(default_factory=threading.Event)
    result: Generated | None = None
    error: Exception | None = None


class BatchingEngine:
    """One worker thread that batches every queued job into one backend call."""

    def __init__(
        self, teacher: EmbeddedTeacher, window_s: float = 0.02, max_queue: int = 256
    ) -> None:
        self.teacher = teacher
        self.window_s = window_s  # how long a first request waits for others to join it
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._stopping = False
        self._cancel = threading.Event()  # set: the batch being decoded stops at its next step
        self.running = 0  # requests in the batch being decoded
        self.abandoned = 0  # requests answered WorkerGone because the engine stopped
        self._worker = threading.Thread(target=self._run, name="seedtree-serve", daemon=True)
        self._worker.start()

    @property
    def alive(self) -> bool:
        """Whether the worker thread still answers queued requests."""
        return self._worker.is_alive() and not self._stopping

    def submit(self, request: TeacherRequest, top_logprobs: int) -> Generated:
        """Queue one request and wait for its result (raises what the backend raised).

        Raises :class:`ServerBusy` when the queue is full and :class:`WorkerGone` when the
        worker has stopped (before or while the request waits).
        """
        if not self.alive:
            raise WorkerGone("the model worker has stopped")
        job = _Job(request, top_logprobs)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise ServerBusy(f"{self._queue.maxsize} requests are already waiting") from None
        while not job.done.wait(timeout=0.5):
            if not self._worker.is_alive():
                raise WorkerGone("the model worker stopped before answering")
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    @property
    def waiting(self) -> int:
        """Requests queued for the next batch."""
        return self._queue.qsize()

    def cancel(self) -> None:
        """Stop taking requests and stop the batch being decoded at its next step."""
        self._stopping = True
        self._cancel.set()

    def stop(self, wait_s: float = 30.0) -> None:
        """Cancel the batch being decoded, answer every request with :class:`WorkerGone` and
        wait (up to ``wait_s``) for the worker to end."""
        self.cancel()
        with contextlib.suppress(queue.Full):  # full: the worker is gone, nothing drains it
            self._queue.put(None, timeout=1)
        self._worker.join(timeout=wait_s)

    def _run(self) -> None:
        try:
            while not self._stopping:
                first = self._queue.get()
                if first is None:
                    return
                self._serve(self._gather(first))
        finally:
            self._fail_waiting()

    def _fail_waiting(self) -> None:
        """Answer every job still queued with :class:`WorkerGone` (the worker is ending)."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                self._abandon([job], "the model worker stopped before answering")

    def _gather(self, first: _Job) -> list[_Job]:
        """``first`` and the jobs that follow it closely (each within ``window_s`` of the last).

        A burst of concurrent requests becomes one batch even when its requests trickle in over
        a few hundred milliseconds; ``MAX_GATHER_S`` bounds how long the first one waits.
        """
        jobs = [first]
        started = time.monotonic()
        while True:
            now = time.monotonic()
            wait = min(self.window_s, started + MAX_GATHER_S - now)
            try:
                nxt = self._queue.get(timeout=max(0.0, wait))
            except queue.Empty:
                return jobs
            if nxt is None:
                self._stopping = True  # stop after this batch
                return jobs
            jobs.append(nxt)

    def _abandon(self, jobs: list[_Job], why: str) -> None:
        self.abandoned += len(jobs)
        for job in jobs:
            job.error = WorkerGone(why)
            job.done.set()

    def _serve(self, jobs: list[_Job]) -> None:
        k = max(job.top_logprobs for job in jobs)
        self.running = len(jobs)
        try:
            results = self.teacher.generate(
                [job.request for job in jobs], top_logprobs=k, cancel=self._cancel
            )
        except Interrupted:
            self._abandon(jobs, "the server is stopping")
            return
        except Exception as exc:
            if len(jobs) > 1:  # find the request at fault: the others still get answers
                for job in jobs:
                    self._serve([job])
                return
            jobs[0].error = exc
            jobs[0].done.set()
            return
        finally:
            self.running = 0
        for job, result in zip(jobs, results, strict=True):
            job.result = result
            job.done.set()


@dataclass(frozen=True)
class ServedModel:
    name: str
    path: Path

    def accepts(self, requested: object) -> bool:
        return requested in (None, "", self.name, self.path.name, str(self.path))
