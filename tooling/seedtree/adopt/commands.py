"""``seedtree init``: add seedtree to an existing taxonomy repository, or check it for drift.

It detects where the taxonomy is, writes ``seedtree.yaml``, ``.pre-commit-config.yaml`` (the
published hooks at a pinned revision), the four workflows with that repository's paths, the
hashed locks the workflows install from, and a baseline of the findings the tree already has.
A file it did not write is never overwritten: it says what differs instead. What it wrote is
recorded (path and SHA-256) in ``.seedtree/init.json``, so a re-run updates its own files and
``--check`` reports any drift.

The repository may be hostile: the taxonomy's folder must have a plain name (it is written into
YAML, as a quoted scalar all the same), and init neither reads nor writes through a symbolic
link, so a committed ``.seedtree`` or ``.github`` link cannot send its files elsewhere.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml

from seedtree.adopt.render import (
    LOCK_DIR,
    WORKFLOWS,
    Setup,
    pinned_setup,
    precommit_config,
)
from seedtree.adopt.render import workflow as render_workflow
from seedtree.adopt.source import Source, find_source
from seedtree.atomic import write_text
from seedtree.config import CONFIG_FILE, ValidateConfig
from seedtree.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from seedtree.findings import Finding
from seedtree.taxonomy.leaves import TOPS
from seedtree.validate.api import targets_for, validate_targets
from seedtree.validate.baseline import baseline_json

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
STATE = ".seedtree/init.json"
BASELINE = ".seedtree/baseline.json"
LOCKS = {
    "build.txt": "build.txt",
    "dev.txt": "lock.txt",
    "model.txt": "model.txt",
    "github.txt": "github.txt",
    "gpu.txt": "gpu.txt",
}


@dataclass(frozen=True)
class Options:
    repo_root: Path
    source: Path | None = None  # a seedtree checkout (default: the one running)
    url: str | None = None  # where workflows install it from (default: its origin)
    rev: str | None = None  # the commit to pin (default: the checkout's HEAD)
    check: bool = False


def detect_taxonomy_dir(repo_root: Path) -> str:
    """``.`` when the taxonomy's top folders are at the root, else the folder that holds them."""
    if any(_real_dir(repo_root / top) for top in TOPS):
        return "."
    for child in sorted(p for p in repo_root.iterdir() if _real_dir(p)):
        if not child.name.startswith(".") and any(_real_dir(child / top) for top in TOPS):
            return plain_name(child)
    raise UsageError(
        f"{repo_root}: no taxonomy found ({', '.join(TOPS)} at the root or one folder down; "
        "folders reached through a symbolic link do not count)",
        hint="run `seedtree init` at the root of a taxonomy repository",
    )


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def plain_name(folder: Path) -> str:
    """``folder``'s name, if it is a plain one (it is written into the configuration and the
    workflows' triggers); else a usage error."""
    if not PLAIN_NAME.fullmatch(folder.name):
        raise UsageError(
            f"{folder.parent}: the taxonomy's folder name {folder.name!r} is not a plain name "
            "(letters, digits, '.', '_' and '-', at most 100)",
            hint="rename the folder, then run `seedtree init` again",
        )
    return folder.name


def refuse_links(repo_root: Path, rel: str) -> Path:
    """``repo_root / rel``, after checking that no part of it below the root is a symbolic link
    (init neither reads nor writes through one, wherever it points)."""
    path = repo_root
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            raise UsageError(
                f"{path}: is a symbolic link; `seedtree init` neither reads nor writes through "
                "links (a committed link could send its files outside the repository)",
                hint=f"replace {path.relative_to(repo_root)} with a real folder or file",
            )
    return repo_root / rel


def _scalar(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (a JSON string is one): no key can follow it."""
    return json.dumps(value, ensure_ascii=True)


def config_text(taxonomy_dir: str) -> str:
    return (
        "# seedtree configuration, written by `seedtree init`. Every key is optional: see the\n"
        "# configuration reference in seedtree's documentation.\n"
        f"taxonomy_dir: {_scalar(taxonomy_dir)}\n"
        "validate:\n"
        "  # findings the tree had when seedtree was adopted: reported as known, never failing\n"
        f"  baseline: {_scalar(BASELINE)}\n"
    )


def _findings(repo_root: Path, taxonomy_dir: str) -> list[Finding]:
    root = (repo_root / taxonomy_dir).resolve()
    return validate_targets(targets_for([root]), ValidateConfig()).findings


def planned_files(
    repo_root: Path, setup: Setup, source: Source, findings: list[Finding]
) -> dict[str, str]:
    """Every file init writes, by path relative to the repository root. The baseline is
    written once: a re-run never adds new findings to it (refresh it on purpose with
    ``seedtree validate --write-baseline``)."""
    files = {CONFIG_FILE: config_text(setup.taxonomy_dir)}
    published = yaml.safe_load(source.read(".pre-commit-hooks.yaml"))
    files[".pre-commit-config.yaml"] = precommit_config(setup, published)
    for name in WORKFLOWS:
        files[f".github/workflows/{name}.yml"] = render_workflow(name, setup)
    files[".github/actionlint.yaml"] = source.read(".github/actionlint.yaml")
    for theirs, ours in LOCKS.items():
        files[f"{LOCK_DIR}/{ours}"] = source.read(f"requirements/{theirs}")
    if not refuse_links(repo_root, BASELINE).exists():
        files[BASELINE] = baseline_json(findings, repo_root)
    return files


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_state(repo_root: Path) -> dict[str, str]:
    path = refuse_links(repo_root, STATE)
    if not path.is_file():
        return {}
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: unreadable ({exc}); delete it to start over") from None


def _diff(rel: str, current: str, wanted: str) -> str:
    lines = difflib.unified_diff(
        current.splitlines(keepends=True), wanted.splitlines(keepends=True), rel, f"{rel} (init)"
    )
    return "".join(lines)


def _status(repo_root: Path, rel: str, wanted: str, state: dict[str, str]) -> str:
    path = repo_root / rel
    if not path.exists():
        return "new"
    current = path.read_text(encoding="utf-8", errors="replace")
    if current == wanted:
        return "same"
    return "ours" if state.get(rel) == _digest(current) else "theirs"


def apply_files(repo_root: Path, files: dict[str, str], check: bool, out: TextIO) -> int:
    """Write (or with ``check`` compare) ``files``; returns how many differ and were kept.
    Nothing is read or written when one of them lies behind a symbolic link."""
    for rel in files:
        refuse_links(repo_root, rel)
    state = _read_state(repo_root)
    kept = 0
    for rel, wanted in files.items():
        status = _status(repo_root, rel, wanted, state)
        if status == "same":
            state[rel] = _digest(wanted)
            continue
        if status == "theirs" or check:
            path = repo_root / rel
            current = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            why = "differs (not written by seedtree init)" if status == "theirs" else "drift"
            out.write(f"{rel}: {why}\n{_diff(rel, current, wanted)}")
            kept += 1
            continue
        write_text(repo_root / rel, wanted)
        state[rel] = _digest(wanted)
        out.write(f"{'wrote' if status == 'new' else 'updated'} {rel}\n")
    if not check:
        write_text(repo_root / STATE, json.dumps(dict(sorted(state.items())), indent=2) + "\n")
    return kept


def report_findings(findings: list[Finding], out: TextIO) -> None:
    counts = Counter((f.rule, f.severity) for f in findings)
    if not counts:
        out.write("the existing tree has no findings\n")
        return
    out.write(f"the existing tree has {len(findings)} findings (recorded in {BASELINE}):\n")
    for (rule, severity), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        out.write(f"  {n:>5}  {severity:<7}  {rule}\n")


def run_init(options: Options, out: TextIO | None = None) -> int:
    """``seedtree init [--check]``: 0 when every file is as init writes it."""
    out = out or sys.stdout
    repo_root = options.repo_root.resolve()
    taxonomy_dir = detect_taxonomy_dir(repo_root)
    source = find_source(options.source, options.url, options.rev)
    setup = pinned_setup(taxonomy_dir, source.url, source.rev)
    findings = _findings(repo_root, taxonomy_dir)
    files = planned_files(repo_root, setup, source, findings)
    if not options.check:
        out.write(f"taxonomy: {taxonomy_dir}; seedtree {source.url}@{source.rev[:12]}\n")
        report_findings(findings, out)
    kept = apply_files(repo_root, files, options.check, out)
    if options.check and not kept:
        out.write("no drift: every file is as `seedtree init` writes it\n")
    return EXIT_FINDINGS if kept else EXIT_OK
