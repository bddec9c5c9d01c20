"""``seedtree serve``: a local model on an OpenAI-compatible HTTP API
(:mod:`seedtree.teacher.server`)."""

from __future__ import annotations

import sys

from seedtree.models import resolve_model
from seedtree.teacher.batching import BatchingEngine, ServedModel
from seedtree.teacher.embedded import EmbeddedTeacher
from seedtree.teacher.server import ServeLimits, api_key_from_env, make_server


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
    """``seedtree serve``: load the model, serve until interrupted; returns the exit code."""

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
    print(f"serving {model} on http://{host}:{server.server_port}/v1", flush=True)
    if not quiet:
        print("press Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.RequestHandlerClass.batching.stop()  # type: ignore[attr-defined]
    return 0
