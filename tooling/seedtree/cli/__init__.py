"""Command-line entry point: wires options to library functions and maps errors to exit codes."""

from __future__ import annotations

import sys

import click

# Each module attaches its commands to ``app`` when imported. They import nothing heavy at
# module level, so ``seedtree validate`` starts fast.
from seedtree.cli import (  # noqa: F401  (imported for their side effect)
    cmd_cache,
    cmd_diff,
    cmd_generate,
    cmd_github,
    cmd_models,
    cmd_retrain,
    cmd_scaffold,
    cmd_train,
    cmd_validate,
)
from seedtree.cli.app import app
from seedtree.errors import EXIT_INTERRUPTED, EXIT_USAGE, SeedtreeError


def _print_error(error: SeedtreeError) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {error}", markup=True)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by ``main`` and by the tests)."""
    try:
        result = app(args=argv, prog_name="seedtree", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        return EXIT_INTERRUPTED
    except click.exceptions.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except SeedtreeError as exc:
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())
