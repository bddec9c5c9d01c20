"""Prompt templates: Jinja files with a small YAML front matter, shipped or overridden.

A template is ``<name>.j2`` in ``seedtree/prompts/``; a taxonomy repository overrides any of them
by putting a file of the same name in ``generate.prompts_dir``. The front matter holds ``version``
(part of every cache key) and, for judges, ``labels`` (scored by the teacher) and ``accept`` (the
labels that pass)::

    ---
    version: 1
    labels: ["yes", "no"]
    accept: ["yes"]
    ---
    Question: {{ question }} ...
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from seedtree.errors import UsageError

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Template:
    """One parsed template file."""

    name: str
    path: Path
    version: str
    body: str
    labels: tuple[str, ...] = ()
    accept: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """``name@version#digest``: the version and the exact text, for cache keys and metadata."""
        digest = hashlib.sha256(self.body.encode("utf-8")).hexdigest()[:8]
        return f"{self.name}@{self.version}#{digest}"


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        raise UsageError(
            f"{path}: a prompt template starts with a front matter block (--- version: N ---)"
        )
    end = text.find("\n---\n", 4)
    if end < 0:
        raise UsageError(f"{path}: the front matter block is not closed by a line '---'")
    try:
        meta = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid front matter: {exc}") from None
    if not isinstance(meta, dict) or "version" not in meta:
        raise UsageError(f"{path}: the front matter needs a 'version'")
    return meta, text[end + 5 :]


def parse_template(name: str, path: Path) -> Template:
    meta, body = _split_front_matter(path, path.read_text(encoding="utf-8"))
    labels = tuple(str(x) for x in meta.get("labels") or ())
    accept = tuple(str(x) for x in meta.get("accept") or ())
    if not set(accept) <= set(labels):
        raise UsageError(f"{path}: every label in 'accept' must be one of 'labels'")
    return Template(name, path, str(meta["version"]), body, labels, accept)


class Prompts:
    """Templates by name, from the override folder first, then the shipped ones."""

    def __init__(self, override_dir: Path | None = None) -> None:
        if override_dir is not None and not override_dir.is_dir():
            raise UsageError(
                f"generate.prompts_dir: {override_dir} is not a folder",
                hint="create it, or remove prompts_dir from seedtree.yaml",
            )
        self.override_dir = override_dir
        self._templates: dict[str, Template] = {}
        self._compiled: dict[str, Any] = {}

    def get(self, name: str) -> Template:
        if name not in self._templates:
            self._templates[name] = parse_template(name, self._path(name))
        return self._templates[name]

    def _path(self, name: str) -> Path:
        for folder in (self.override_dir, SHIPPED_DIR):
            if folder is not None and (folder / f"{name}.j2").is_file():
                return folder / f"{name}.j2"
        raise UsageError(f"prompt template '{name}.j2' not found in {SHIPPED_DIR}")

    @cached_property
    def _env(self) -> Any:
        import jinja2

        return jinja2.Environment(
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )

    def render(self, name: str, **values: Any) -> str:
        template = self.get(name)
        import jinja2

        if name not in self._compiled:
            try:
                self._compiled[name] = self._env.from_string(template.body)
            except jinja2.TemplateError as exc:
                raise UsageError(f"{template.path}: invalid template: {exc}") from None
        try:
            text: str = self._compiled[name].render(**values)
        except jinja2.TemplateError as exc:
            raise UsageError(f"{template.path}: cannot render: {exc}") from None
        return text.strip()
