"""The bodies of ``seedtree preview``, ``seedtree comment`` and ``seedtree authorize``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from seedtree import atomic
from seedtree.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from seedtree.preview import mdsafe
from seedtree.preview.build import DEFAULT_OUT, PreviewOptions, build_preview, preview_pull
from seedtree.preview.github import (
    WRITE_PERMISSIONS,
    append_step_summary,
    comment_body,
    marker_for,
    permission,
    post_comment,
    pull_for_commit,
    target_from_env,
)
from seedtree.preview.precheck import CurrentModel, current_model
from seedtree.preview.pull import PullMovedOn
from seedtree.preview.render import links_from_env, render
from seedtree.project import Project


def run_preview(
    project: Project,
    *,
    base: str | None = None,
    samples: int | None = None,
    out: Path | None = None,
    quiet: bool = False,
    pull_request: int | None = None,
    remote: str | None = None,
    remote_token_env: str | None = None,
    precheck: bool = False,
    precheck_model: CurrentModel | None = None,
) -> int:
    """``seedtree preview``: write preview.md and preview.json, print a one-line summary.

    With ``pull_request``, the pull request is read from its git objects (the trusted job's
    production preview; the token in ``remote_token_env`` reaches a private remote); once it
    moves on, the run stops, writes nothing and exits with ``EXIT_SUPERSEDED``. With
    ``precheck``, the current model (``precheck_model``, by default the current release)
    answers the seed questions.
    """
    count = project.config.preview.samples if samples is None else samples
    token = remote_token(remote_token_env, os.environ)
    if precheck and precheck_model is None:
        precheck_model = current_model(project)
    options = PreviewOptions(count, quiet, precheck_model)
    if pull_request is None:
        report = build_preview(project, base=base, options=options)
    else:
        try:
            report = preview_pull(project, pull_request, remote, options, token)
        except PullMovedOn as moved:
            print(moved.message)
            return moved.exit_code
    markdown = render(report, links_from_env(os.environ, report.head_commit))
    md_path = out or DEFAULT_OUT
    json_path = md_path.with_suffix(".json")
    atomic.write_text(md_path, markdown + "\n")
    atomic.write_text(json_path, report.model_dump_json(indent=2) + "\n")
    errors = sum(leaf.errors for leaf in report.leaves)
    print(
        f"preview: {len(report.leaves)} changed leaf(s) against {report.base_ref}, "
        f"{errors} validation error(s), {report.seconds:.0f} s; wrote {md_path} and {json_path}"
    )
    return EXIT_OK


def remote_token(name: str | None, environ: Mapping[str, str]) -> str | None:
    """The token in the environment variable ``name`` (None without a name)."""
    if name is None:
        return None
    token = environ.get(name, "").strip()
    if not token:
        raise UsageError(
            f"--remote-token-env {name}: that environment variable is empty or not set",
            hint="set it to a token that may read the repository, or leave the option out",
        )
    return token


def run_comment(
    repo: str,
    body_path: Path,
    *,
    pr: int | None = None,
    commit: str | None = None,
    marker: str = "preview",
    author: str | None = None,
    head_sha: str | None = None,
) -> int:
    """``seedtree comment``: post or update the sticky comment and write the step summary."""
    if (pr is None) == (commit is None):
        raise UsageError("give exactly one of --pr N or --commit SHA")
    environ = dict(os.environ)
    shown, body = comment_body(body_path, environ, head_sha)
    options = {"author": author, "marker": marker_for(marker), "head_sha": head_sha}
    if commit is not None:
        lookup = replace(target_from_env(repo, 1, environ, **options), pr=0)
        pr = pull_for_commit(lookup, commit)
        if pr is None:
            print(f"no pull request found for {commit[:12]} in {repo}: nothing to comment on")
            append_step_summary(shown, environ)
            return EXIT_OK
    assert pr is not None
    return post_comment(target_from_env(repo, pr, environ, **options), (shown, body), environ)


def run_authorize(repo: str, login: str) -> int:
    """``seedtree authorize``: exit 0 when ``login`` has write access to ``repo``, else say so
    (and in the job summary) and exit 1. The API decides, never the text of a comment."""
    environ = dict(os.environ)
    target = replace(target_from_env(repo, 1, environ), pr=0)
    found = permission(target, login)
    if found in WRITE_PERMISSIONS:
        print(f"{login} has {found} access to {repo}: the production preview may run")
        return EXIT_OK
    message = (
        f"{login} has {found} access to {repo}: the production preview runs only when someone "
        "with write access asks for it; nothing was run"
    )
    print(message)
    append_step_summary(mdsafe.text(message, 500), environ)
    return EXIT_FINDINGS
