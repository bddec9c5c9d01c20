"""The files ``seedtree init`` writes, rendered from templates: one source of truth for the
workflows and hook configuration of every repository, this one included.

Templates (``seedtree/data/templates/``) are the workflows with ``@NAME@`` placeholders. A
placeholder alone on its line takes a list of lines at that indentation; inside a line it takes a
string. :class:`Setup` holds what differs between repositories: where the taxonomy is and how a
job installs seedtree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import yaml

from seedtree.taxonomy.leaves import TOPS

WORKFLOWS = ("validate", "preview", "preview-comment", "preview-production", "retrain")
LOCK_DIR = ".seedtree/requirements"
PIP = ".venv/bin/python -m pip install --disable-pip-version-check --quiet"
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


@dataclass(frozen=True)
class Setup:
    """What the generated files of one repository depend on."""

    taxonomy_dir: str  # "." for a taxonomy at the repository root
    install: tuple[str, ...]  # shell lines that leave seedtree in .venv
    lock_files: tuple[str, ...]  # what the pip cache key hashes
    model_lock: str
    lock_dir: str  # where the jobs holding a token find build.txt, github.txt and gpu.txt
    seedtree: str  # what those jobs give `pip install --no-deps` to install seedtree itself
    hooks_repo: str | None = None  # None: this repository's own `repo: local` hooks
    hooks_rev: str | None = None

    @property
    def prefix(self) -> str:
        return "" if self.taxonomy_dir in (".", "") else self.taxonomy_dir.strip("/") + "/"


def self_setup() -> Setup:
    """This repository: the taxonomy in ``taxonomy/``, installed by ``make venv``."""
    return Setup(
        taxonomy_dir="taxonomy",
        install=("make venv",),
        lock_files=("requirements/*.txt", "pyproject.toml"),
        model_lock="requirements/model.txt",
        lock_dir="requirements/",
        seedtree="-e .",
    )


def pinned_setup(taxonomy_dir: str, source: str, rev: str) -> Setup:
    """Another repository: seedtree at one commit of ``source``, its dependencies hash-locked."""
    return Setup(
        taxonomy_dir=taxonomy_dir,
        install=(
            "python -m venv .venv",
            f"{PIP} --require-hashes -r {LOCK_DIR}/build.txt",
            f"{PIP} --require-hashes --no-build-isolation -r {LOCK_DIR}/lock.txt",
            f"{PIP} --require-hashes --no-deps -r {LOCK_DIR}/model.txt",
            f'{PIP} --no-deps "seedtree @ git+{source}@{rev}"',
        ),
        lock_files=(f"{LOCK_DIR}/*.txt",),
        model_lock=f"{LOCK_DIR}/model.txt",
        lock_dir=f"{LOCK_DIR}/",
        seedtree=f'"seedtree @ git+{source}@{rev}"',
        hooks_repo=source,
        hooks_rev=rev,
    )


def fill(template: str, values: Mapping[str, str | Sequence[str]]) -> str:
    """Replace ``@NAME@`` placeholders; a list value takes its line, one item a line."""
    out: list[str] = []
    for line in template.splitlines(keepends=True):
        alone = re.fullmatch(r"(\s*)(- )?@([A-Z_]+)@\n?", line)
        if alone and not isinstance(values[alone.group(3)], str):
            indent, dash = alone.group(1), alone.group(2) or ""
            out.extend(f"{indent}{dash}{item}\n" for item in values[alone.group(3)])
            continue
        out.append(_PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), line))
    return "".join(out)


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def _trigger_paths(setup: Setup) -> list[str]:
    """The retrain workflow's ``paths`` filter, each a quoted scalar (no key can follow it)."""
    if setup.prefix:
        return [json.dumps(f"{setup.prefix}**", ensure_ascii=True)]
    return [json.dumps(f"{top}/**") for top in TOPS]


def workflow(name: str, setup: Setup) -> str:
    template = resources.files("seedtree").joinpath(f"data/templates/{name}.yml").read_text()
    values: dict[str, str | Sequence[str]] = {
        "INSTALL": setup.install,
        "LOCK_FILES": _quoted(setup.lock_files),
        "MODEL_LOCK": _quoted([setup.model_lock]),
        "TAXONOMY_PATHS": _trigger_paths(setup),
        "LOCK_DIR": setup.lock_dir,
        "SEEDTREE": setup.seedtree,
    }
    return fill(template, values)


def _files_regex(setup: Setup, names: str) -> str:
    where = re.escape(setup.prefix) if setup.prefix else "(" + "|".join(TOPS) + ")/"
    return f"(?i)^{where}.*{names}$"


def precommit_config(setup: Setup, published: Sequence[Mapping[str, str]]) -> str:
    """``.pre-commit-config.yaml``: the published hooks, limited to the taxonomy's files."""
    ordered = sorted(published, key=lambda hook: hook["id"] != "seedtree-fmt")  # fix, then check
    hooks = [_hook(setup, hook) for hook in ordered]
    if setup.hooks_repo is None:
        hooks.append(_WORKFLOW_SCHEMA_HOOK)
        repo: dict[str, object] = {"repo": "local", "hooks": hooks}
        head = _LOCAL_HEADER
    else:
        repo = {"repo": setup.hooks_repo, "rev": setup.hooks_rev, "hooks": hooks}
        head = _PINNED_HEADER
    body = yaml.dump({"repos": [repo]}, Dumper=_Indented, sort_keys=False, width=100)
    return head + body


class _Indented(yaml.SafeDumper):
    """Indents list items under their key, as pre-commit's own examples do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _hook(setup: Setup, hook: Mapping[str, str]) -> dict[str, object]:
    qna_only = "attribution" not in hook["files"]
    files = _files_regex(setup, r"qna\.yaml" if qna_only else r"(qna\.ya?ml|attribution\.txt)")
    if setup.hooks_repo is None:
        entry = {"id": hook["id"], "name": hook["name"], "entry": hook["entry"]}
        return {**entry, "language": "system", "files": files}
    return {"id": hook["id"], "files": files}


_WORKFLOW_SCHEMA_HOOK: dict[str, object] = {
    "id": "check-github-workflows",
    "name": "check GitHub workflows (vendored schema)",
    "entry": "check-jsonschema --builtin-schema vendor.github-workflows",
    "language": "system",
    "files": r"^\.github/workflows/.*\.ya?ml$",
}
_LOCAL_HEADER = """\
# Generated by `seedtree init` (see tooling/seedtree/adopt/): edit the templates, not this file.
# This repository's own hooks: `repo: local` and `language: system`, so they run offline with
# what `make venv` installed (activate .venv, or put .venv/bin on PATH, before `pre-commit run`).
"""
_PINNED_HEADER = """\
# Generated by `seedtree init`: seedtree's published hooks at a pinned revision, limited to the
# taxonomy's files. `seedtree init --check` reports drift; re-run `seedtree init` to update.
"""


def self_files(published: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """This repository's own workflows and hook configuration, from the same templates."""
    setup = self_setup()
    files = {f".github/workflows/{name}.yml": workflow(name, setup) for name in WORKFLOWS}
    files[".pre-commit-config.yaml"] = precommit_config(setup, published)
    return files
