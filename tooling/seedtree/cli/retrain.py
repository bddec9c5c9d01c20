"""CLI: ``seedtree retrain``: merge to model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app

BaseModelOption = Annotated[
    str | None,
    typer.Option(
        "--base-model",
        help="Model v1 starts from ('default', a store name or an HF folder); a base "
        "different from the current version's retrains every leaf from it.",
    ),
]
ReportDirOption = Annotated[
    Path | None,
    typer.Option(
        "--report-dir",
        help="Do not train: copy the report of the last run on HEAD into this folder.",
        file_okay=False,
    ),
]
MergedOption = Annotated[
    bool,
    typer.Option(
        "--merged-commits",
        help="Do not train: print the commits merged on the main line (first parent) since the "
        "previous version, one a line (the pull requests a run's report is for).",
    ),
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the plan and its expected cost; do nothing.")
]
OverrideGate = Annotated[
    bool, typer.Option("--override-gate", help="Release even if the gate refuses (needs --reason).")
]
Reason = Annotated[
    str | None, typer.Option("--reason", help="Why the gate is overridden (recorded).")
]
NoWait = Annotated[
    bool, typer.Option("--no-wait", help="Exit at once if another retrain is running.")
]
NoReplay = Annotated[
    bool,
    typer.Option(
        "--no-replay", help="Train on the changed leaves' data alone (measures forgetting)."
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars (CI logs).")]
NoPreflight = Annotated[
    bool, typer.Option("--no-preflight", help="Skip the checks of `seedtree doctor` at the start.")
]
AllowCpu = Annotated[
    bool, typer.Option("--allow-cpu", help="Training on the CPU is intended (no GPU is required).")
]


@app.command(rich_help_panel="Merge")
def retrain(
    base_model: BaseModelOption = None,
    dry_run: DryRun = False,
    override_gate: OverrideGate = False,
    reason: Reason = None,
    no_wait: NoWait = False,
    report_dir: ReportDirOption = None,
    merged_commits: MergedOption = False,
    no_replay: NoReplay = False,
    quiet: Quiet = False,
    no_preflight: NoPreflight = False,
    allow_cpu: AllowCpu = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Retrain the current model on the leaves changed since it and release the next version."""
    from seedtree.errors import UsageError
    from seedtree.project import open_project
    from seedtree.retrain.commands import run_retrain
    from seedtree.retrain.state import Options

    if override_gate != (reason is not None):
        raise UsageError("--override-gate and --reason go together: say why the gate is overridden")
    project = open_project(repo_root, config)
    options = Options(
        base_model=base_model,
        dry_run=dry_run,
        override_reason=reason if override_gate else None,
        wait=not no_wait,
        quiet=quiet or project.config.retrain.quiet,
        preflight=not no_preflight,
        allow_cpu=allow_cpu,
        replay=not no_replay,
    )
    return run_retrain(project, options, report_dir=report_dir, merged=merged_commits)
