"""The one error type users see, and the exit codes it maps to.

Library code raises :class:`SeedtreeError` (or a subclass) with a message a user can act on;
only :mod:`seedtree.cli` turns it into an exit code. Library code never calls ``sys.exit``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command ran and found problems (validation errors, refused gate)
EXIT_USAGE = 2  # bad options or bad input the command could not work with
EXIT_FATAL = 3  # an environment or external failure (server down, git missing)
EXIT_SUPERSEDED = 4  # the work stopped because a newer run does it (a pull request moved on)
EXIT_INTERRUPTED = 130


class SeedtreeError(Exception):
    """An error with a message meant for the user: what, where, and what to do."""

    exit_code = EXIT_FATAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class UsageError(SeedtreeError):
    """Bad options or input that the user must fix before the command can run."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """``seedtree.yaml`` (or an option overriding it) is invalid."""


class GitError(SeedtreeError):
    """A git operation failed or the repository is in a state we cannot work with."""


class TeacherError(SeedtreeError):
    """A model backend failed after its retry budget."""


class Interrupted(SeedtreeError):
    """Work stopped on request (a signal, a server shutting down) before it finished."""

    exit_code = EXIT_INTERRUPTED
