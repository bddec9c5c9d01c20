"""Validate one ``qna.yaml``: parse it once, then run every rule on the parsed value.

The most useful findings come first: reading and YAML problems, then the leaf's place in the
tree, its version and schema, then content, attribution, formatting and secrets. A file that
cannot be parsed still gets the rules that need no content (name, location).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from seedtree.config import ValidateConfig
from seedtree.findings import Finding
from seedtree.validate import attribution, content, documents, formatting, layout, schema, secrets
from seedtree.validate.context import FileCheck, Kind, kind_of, own_version, version_number
from seedtree.yamlpos import ParsedYaml, Pos, parse_file, path_text

Rule = Callable[[FileCheck], Iterable[Finding]]

PLACE_RULES: tuple[Rule, ...] = (
    layout.file_name,
    layout.location,
    layout.nested_leaf,
    layout.folder_names,
)
CONTENT_RULES: tuple[Rule, ...] = (
    layout.leaf_type,
    content.knowledge_extra_qa,
    content.document_commit,
    content.context_mixed,
    content.duplicate_seeds,
    content.near_duplicate_contexts,
    content.sizes,
    attribution.attribution,
    formatting.lines_rules,
    formatting.token_rules,
    secrets.in_leaf,
)


@dataclass(frozen=True)
class Target:
    """A file to validate: where it is, how to show it, its taxonomy root, its version rule."""

    path: Path
    shown: str
    root: Path | None
    held_to_latest: bool = False
    repo_root: Path | None = None


def relative_to_root(path: Path, root: Path | None) -> PurePosixPath | None:
    if root is None:
        return None
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative.startswith(".."):
        return None
    return PurePosixPath(relative if os.sep == "/" else relative.replace(os.sep, "/"))


def _make_check(target: Target, parsed: ParsedYaml, config: ValidateConfig) -> FileCheck:
    rel = relative_to_root(target.path, target.root)
    kind: Kind = kind_of(rel, parsed.data)
    own = own_version(parsed.data)
    number = version_number(own)
    latest = schema.latest_version(kind)
    version = latest if target.held_to_latest else (number or 1)
    return FileCheck(
        path=target.path,
        shown=target.shown,
        root=target.root,
        rel=rel,
        parsed=parsed,
        kind=kind,
        own_version=own,
        version=version,
        held_to_latest=target.held_to_latest,
        config=config,
    )


def check_file(target: Target, config: ValidateConfig) -> list[Finding]:
    """Every finding for one file, never raising for bad input; a leaf folder holding a symlink
    that leads outside the repository, a leaf file that is a symlink and a file deeper than
    every walk goes are not read at all."""
    deep = layout.too_deep(target.path, target.shown, relative_to_root(target.path, target.root))
    if deep is not None:
        return [deep]
    refused = documents.target_symlinks(
        target.path, target.shown, target.repo_root, target.root
    ) or layout.linked_leaf_files(target.path, target.shown)
    if refused:
        parsed = ParsedYaml(target.shown, "", None, False, tuple(refused))
    else:
        parsed = parse_file(target.path, target.shown, config.max_file_bytes)
    check = _make_check(target, parsed, config)
    findings = list(parsed.findings)
    for rule in PLACE_RULES:
        findings.extend(rule(check))
    if not parsed.ok:
        return findings
    if not parsed.data:  # null, {}, [], "": empty, as the reference sees it (a warning)
        findings.append(check.at(Pos(1, 1), "empty-file", "the file is empty: fill it in"))
        return findings
    findings.extend(version_and_schema(check))
    if isinstance(parsed.data, dict):
        for rule in CONTENT_RULES:
            findings.extend(rule(check))
        findings.extend(documents.references(check, target.repo_root))
        findings.extend(secrets.in_documents(check, target.repo_root))
    return findings


def version_and_schema(check: FileCheck) -> list[Finding]:
    number = version_number(check.own_version)
    latest = schema.latest_version(check.kind)
    where = ("version",)
    if check.held_to_latest and (number is None or number < latest):
        shown = "missing (1)" if check.own_version == 1 and _no_version(check) else repr(number)
        outdated = check.at_key(
            where,
            "version-outdated",
            f"version is {shown}; changed files must use version {latest}: update the leaf "
            f"(`seedtree migrate {check.shown}`)",
        )
        return [outdated, *schema_findings(check, skip=("version",))]
    if check.held_to_latest:
        return schema_findings(check)
    if number is None:
        return [check.at_path(where, "schema-version", f"version must be a number like {latest}")]
    if number not in schema.available_versions(check.kind):
        versions = ", ".join(map(str, schema.available_versions(check.kind)))
        return [
            check.at_path(
                where,
                "schema-version",
                f"version {number} does not exist for {check.kind} (supported: {versions})",
            )
        ]
    unsupported = schema.deprecation(check.kind, number)
    if unsupported is not None:
        return [check.at_path(where, "schema-version", unsupported)]
    return schema_findings(check)


def _no_version(check: FileCheck) -> bool:
    return not (isinstance(check.data, dict) and "version" in check.data)


def schema_findings(check: FileCheck, skip: tuple[Any, ...] | None = None) -> list[Finding]:
    """Schema errors as findings; ``skip``: a path already reported by another rule."""
    document = schema.load_schema(check.kind, check.version)
    found = []
    for error in schema.errors(document, check.data):
        if error.path == skip:
            continue
        message = error.message if not error.path else f"{path_text(error.path)}: {error.message}"
        where: tuple[Any, ...] = error.path
        if error.key is not None:
            found.append(check.at_key((*where, error.key), "schema", message))
        else:
            found.append(check.at_path(where, "schema", message))
    return found
