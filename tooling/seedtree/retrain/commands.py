"""The bodies of ``seedtree retrain`` and ``seedtree doctor``."""

from __future__ import annotations

from pathlib import Path

from seedtree.errors import EXIT_OK, UsageError
from seedtree.project import Project
from seedtree.retrain.doctor import report_checks, run_checks
from seedtree.retrain.merged import merged_command
from seedtree.retrain.run import collect_report, retrain
from seedtree.retrain.state import Options
from seedtree.train.devices import Machine


def run_retrain(
    project: Project, options: Options, *, report_dir: Path | None = None, merged: bool = False
) -> int:
    """``seedtree retrain``: release the next version (or explain why not); with ``merged``,
    list the pull requests merged since the current version; with ``report_dir``, copy the
    latest run's report there."""
    if merged:
        return merged_command(project.repo_root)
    if report_dir is not None:
        return collect_report(project, report_dir)
    return retrain(project, options)


def run_doctor(project: Project, allow_cpu: bool, machine: Machine | None = None) -> int:
    """``seedtree doctor``: print every check; exit 2 when any fails."""
    checks = run_checks(project, allow_cpu, machine=machine)
    failed = report_checks(checks, print)
    for check in checks:
        if check.status == "warn":  # an annotation on the workflow run, not only a log line
            print(f"::warning title=seedtree doctor: {check.name}::{check.detail}")
    if failed:
        print(f"{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}")
        return UsageError.exit_code
    print("ready to retrain")
    return EXIT_OK
