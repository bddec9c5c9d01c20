"""Which runner a retrain job runs on, and whether its workspace holds only what it checked out.

A runner's labels are public (they are written in ``retrain.yml``, and every self-hosted runner
has ``self-hosted``): any workflow file, a fork's pull request included, can target it. Only two
set-ups keep other jobs' leftovers out of a retrain job, and both are settings on GitHub: an
ephemeral just-in-time runner (one job, then gone), or a runner group restricted to the retrain
workflow on the default branch, with fork pull requests needing approval for all outside
collaborators. From inside a job only the first can be seen: the runner's settings file
(``.runner``, beside its work folder) says ``"ephemeral": true``. Everything else is a warning.

A workspace that holds hooks in ``.git/hooks``, git configuration that ``actions/checkout`` does
not write, or files that are neither tracked nor made by the install step was touched by another
job: the check fails, so the job stops before it pushes anything.

These checks catch a runner set up the wrong way; on a runner that strangers' jobs reach, they
prove nothing (such a job can rewrite ``.runner`` too). The settings on GitHub are the control.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seedtree.errors import GitError
from seedtree.git import run_git
from seedtree.retrain.checks import Check

SETTINGS_FILE = ".runner"
SETUPS = (
    "register it as an ephemeral just-in-time runner (one job, then gone), or put it in a "
    "runner group restricted to this workflow on the default branch, with fork pull requests "
    "needing approval for all outside collaborators (docs/security.md)"
)
# what actions/checkout and `git init` write into .git/config
_CHECKOUT_CONFIG = (
    "core.*",
    "extensions.*",
    "remote.origin.url",
    "remote.origin.fetch",
    "remote.origin.promisor",
    "remote.origin.partialclonefilter",
    "gc.auto",
    "branch.*.remote",
    "branch.*.merge",
    "init.defaultbranch",
    "http.https://github.com/.extraheader",
)
# core keys that name a program or another place to read from
_RISKY_CORE = ("core.hookspath", "core.fsmonitor", "core.sshcommand", "core.askpass")
_CHECKOUT_CONFIG_RISKY = (*_RISKY_CORE, "core.pager", "core.editor", "core.worktree")
# what installing a package from the checkout leaves in it (setuptools' metadata and build)
_INSTALL_LEFTOVERS = ("*.egg-info/", "build/")


def in_actions(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def runner_settings(env: Mapping[str, str]) -> tuple[Path, dict[str, Any]] | None:
    """The runner's ``.runner`` file and its settings, found above the job's folders."""
    for variable in ("RUNNER_TEMP", "RUNNER_WORKSPACE"):
        start = env.get(variable)
        if not start:
            continue
        for folder in list(Path(start).parents)[:3]:
            path = folder / SETTINGS_FILE
            try:
                data = json.loads(path.read_text(encoding="utf-8-sig"))  # written with a BOM
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                return path, data
    return None


def check_runner(env: Mapping[str, str]) -> Check:
    """Ephemeral (ok), GitHub-hosted (ok), anything else self-hosted (a loud warning)."""
    if not in_actions(env):
        return Check("runner", "skip", "not a GitHub Actions job")
    name = env.get("RUNNER_NAME") or "this runner"
    if env.get("RUNNER_ENVIRONMENT") == "github-hosted":
        return Check("runner", "ok", f"{name} is GitHub-hosted: a new machine for every job")
    found = runner_settings(env)
    if found is not None and found[1].get("ephemeral") in (True, "true", "True"):
        return Check("runner", "ok", f"{name} is ephemeral ({found[0]}): this job is its only one")
    where = f"{found[0]} does not say ephemeral" if found else f"no {SETTINGS_FILE} file found"
    detail = (
        f"{name} is a persistent self-hosted runner ({where}): whatever an earlier job left on "
        "it reaches this job, which holds a token that pushes; safe only if GitHub's settings "
        "keep every other workflow off it, which cannot be seen from here"
    )
    return Check("runner", "warn", detail, SETUPS)


def _git_dir(repo_root: Path) -> Path:
    return (repo_root / run_git(repo_root, "rev-parse", "--git-dir").strip()).resolve()


def planted_hooks(repo_root: Path) -> list[str]:
    """Hooks in ``.git/hooks`` (git's own ``*.sample`` files aside)."""
    hooks = _git_dir(repo_root) / "hooks"
    if not hooks.is_dir():
        return []
    return sorted(p.name for p in hooks.iterdir() if not p.name.endswith(".sample"))


def foreign_config(repo_root: Path) -> list[str]:
    """Keys of the repository's own git configuration that a checkout does not write."""
    try:
        names = run_git(repo_root, "config", "--local", "--name-only", "--list")
    except GitError:
        return []
    found = []
    for key in dict.fromkeys(names.lower().splitlines()):
        ordinary = any(fnmatch.fnmatchcase(key, pattern) for pattern in _CHECKOUT_CONFIG)
        if key in _CHECKOUT_CONFIG_RISKY or not ordinary:
            found.append(key)
    return found


def stray_files(repo_root: Path) -> list[str]:
    """Untracked and ignored paths of the working tree (what an install leaves aside)."""
    out = run_git(repo_root, "status", "--porcelain=v1", "-z", "--ignored", "-unormal")
    paths = [entry[3:] for entry in out.split("\0") if entry[:3] in ("?? ", "!! ")]
    return [p for p in paths if not any(fnmatch.fnmatch(p, f"*{x}") for x in _INSTALL_LEFTOVERS)]


def _printable(name: str) -> str:
    """A file name as data: a newline in it starts no log line (nor a workflow command)."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)


def _listed(items: list[str], limit: int = 5) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(_printable(item) for item in items[:limit]) + more


def check_workspace(repo_root: Path, env: Mapping[str, str]) -> Check:
    """Fail on planted hooks or git configuration, warn on files the checkout did not make."""
    if not in_actions(env):
        return Check("workspace", "skip", "not a GitHub Actions job")
    fix = f"another job wrote into this runner's workspace: delete {repo_root}, and {SETUPS}"
    problems = []
    if hooks := planted_hooks(repo_root):
        problems.append(f"hooks in .git/hooks: {_listed(hooks)}")
    if keys := foreign_config(repo_root):
        problems.append(f"git configuration a checkout does not write: {_listed(keys)}")
    if problems:
        return Check("workspace", "fail", "; ".join(problems), fix)
    if stray := stray_files(repo_root):
        detail = f"files the job did not check out: {_listed(stray)}"
        return Check("workspace", "warn", detail, fix)
    return Check("workspace", "ok", f"{repo_root} holds only the checkout")
