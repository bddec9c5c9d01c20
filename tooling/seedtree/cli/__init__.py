"""Command-line entry point: wires options to library functions and maps errors to exit codes."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

import typer
from typer.exceptions import TyperException

# Each module attaches its command to ``app`` when imported; the import order is the order of
# ``seedtree --help``: adopting, contributing, pull requests, data and models, merge.
#
# Start-up: a command imports its stage inside the command function. The stages import their
# third-party libraries (jinja2, httpx, PyGithub, rapidfuzz, pydantic models...) at module level,
# and importing them all here took the start-up of a one-file ``seedtree validate`` from 0.28 s to
# 0.55 s (measured with bench/validate.py's start-up figure). This is the one place where
# seedtree's own modules are imported lazily.
# isort: off
from seedtree.cli import (  # noqa: F401  (imported for their side effect)
    init,
    new,
    fmt,
    validate,
    migrate,
    diff,
    preview,
    comment,
    authorize,
    generate,
    serve,
    train,
    chat,
    models,
    cache,
    retrain,
    doctor,
)

# isort: on
from seedtree.cli.app import app
from seedtree.errors import EXIT_INTERRUPTED, EXIT_USAGE, SeedtreeError


def _print_error(error: SeedtreeError) -> None:
    from rich.console import Console

    from seedtree.termsafe import markup_lines

    message = markup_lines(error)  # paths and names in it come from contributors
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {message}", markup=True)


def _show_usage_error(error: TyperException) -> None:
    """Typer's own message for bad usage (usage line, hint, one error line), or its text."""
    show = getattr(error, "show", None)  # typer's vendored click exceptions can show themselves
    if callable(show):
        show()
    else:
        print(f"Error: {error.format_message()}", file=sys.stderr)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by ``main`` and by the tests)."""
    try:
        result = app(args=argv, prog_name="seedtree", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return EXIT_INTERRUPTED
    except TyperException as exc:  # unknown command or option, bad value, missing argument
        _show_usage_error(exc)
        return EXIT_USAGE
    except SeedtreeError as exc:
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0


def main() -> None:
    code = run()
    if "LOCAL_RANK" in os.environ:
        _exit_rank(code)
    sys.exit(code)


def _exit_rank(code: int) -> NoReturn:
    """End one rank of a launch (torchrun, the deepspeed launcher) once its output is flushed.

    The run has left its process group after a barrier; what remains is the interpreter's
    teardown, during which a worker thread of the communication library can still be releasing
    tensors of the last collective. It then needs the interpreter being torn down and aborts the
    process ("terminate called without an active exception"), failing a launch whose work is
    done. Every file the run writes is closed by now: only the streams and logs are flushed.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
