"""``seedtree serve``: a local model on an OpenAI-compatible HTTP API
(:mod:`seedtree.teacher.server`)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from seedtree.errors import EXIT_OK
from seedtree.models import resolve_model
from seedtree.teacher.batching import BatchingEngine, ServedModel
from seedtree.teacher.embedded import EmbeddedTeacher
from seedtree.teacher.server import ApiServer, ServeLimits, api_key_from_env, make_server

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SIGNAL_NAMES = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}


def run_serve(
    host: str,
    port: int,
    model: str,
    *,
    batch_size: int,
    device: str,
    dtype: str = "auto",
    quantize: str = "none",
    quiet: bool = False,
    api_key_env: str | None = None,
    limits: ServeLimits | None = None,
) -> int:
    """``seedtree serve``: load the model, serve until SIGINT or SIGTERM; returns the exit code."""

    api_key = api_key_from_env(api_key_env)
    path = resolve_model(model)
    bounds = limits or ServeLimits()

    def engine() -> BatchingEngine:
        teacher = EmbeddedTeacher(
            path, batch_size=batch_size, device=device, dtype=dtype, quantize=quantize
        )
        return BatchingEngine(teacher, max_queue=bounds.max_queue)

    server = make_server(
        host, port, ServedModel(model, path), engine, limits=bounds, api_key=api_key
    )
    with stopped_by_signals(server) as caught:
        print(f"serving {model} on http://{host}:{server.server_port}/v1", flush=True)
        if not quiet:
            print("press Ctrl-C to stop", file=sys.stderr, flush=True)
        try:
            server.serve_forever()
        finally:
            unanswered = server.stop()
    print(stop_line(caught, unanswered), file=sys.stderr, flush=True)
    return EXIT_OK


@contextlib.contextmanager
def stopped_by_signals(server: ApiServer) -> Iterator[list[signal.Signals]]:
    """While inside, SIGINT and SIGTERM stop ``server`` (``serve_forever`` returns, generation is
    cancelled mid-batch); yields the signals caught. A second signal ends the process at once.

    The handler only records the signal and sets an event: a thread waiting on it does the
    rest, as ``shutdown`` must not run on the thread of ``serve_forever``.
    """
    caught: list[signal.Signals] = []
    asked = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        for number in STOP_SIGNALS:  # the next one is not caught: the process ends at once
            signal.signal(number, signal.SIG_DFL)
        caught.append(signal.Signals(signum))
        asked.set()

    def stopper() -> None:
        asked.wait()
        server.batching.cancel()
        server.shutdown()

    if threading.current_thread() is not threading.main_thread():
        yield caught  # signals reach the main thread only
        return
    threading.Thread(target=stopper, name="seedtree-serve-stop", daemon=True).start()
    previous = {number: signal.signal(number, handle) for number in STOP_SIGNALS}
    try:
        yield caught
    finally:
        for number, before in previous.items():
            signal.signal(number, before)


def stop_line(caught: list[signal.Signals], unanswered: int) -> str:
    """The last line ``seedtree serve`` prints: why it stopped, and what it left unanswered."""
    line = "seedtree serve: stopped"
    if caught:
        line += f" on {_SIGNAL_NAMES.get(caught[0], caught[0].name)}"
    if unanswered:
        plural = "s" if unanswered > 1 else ""
        line += f"; {unanswered} unfinished request{plural} answered 503"
    return line
