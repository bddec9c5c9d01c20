"""The configuration reference, ``docs/configuration.md``, generated from the models of
:mod:`seedtree.config` (every key's type, default and description)."""

from __future__ import annotations

import json

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from seedtree.config import Config

REFERENCE_HEAD = """\
# Configuration

`seedtree.yaml` at the repository root configures every command. Every key is optional; every
default is declared once, in `tooling/seedtree/config.py`, and this page is generated from it
(`python -m seedtree.configref > docs/configuration.md`; a test fails when they differ).

Precedence, lowest first: the defaults below, the file, environment variables
`SEEDTREE__<SECTION>__<FIELD>` (values are read as YAML, for example
`SEEDTREE__TEACHER__BACKEND=openai` or `SEEDTREE__TEACHER__BASE_URLS='["http://gpu-1:8000/v1"]'`),
then command-line options. `$SEEDTREE_HOME` (default `~/.cache/seedtree`) holds large artifacts,
namespaced by repository; `SEEDTREE_MODELS_DIR` moves the shared model store. A value the
models refuse stops the command (exit 2) with one line per problem, naming where it was
written: `seedtree.yaml:3:10: teacher.dtype: ...`, or the environment variable that set it.
"""


def _default_text(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if isinstance(value, tuple):
        value = list(value)
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def _type_text(annotation: object) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation).replace("typing.", "")
    return "`" + text.replace("NoneType", "None").replace(" | ", " or ") + "`"


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _section(key: str, model: type[BaseModel]) -> str:
    rows = [
        f"| `{name}` | {_type_text(info.annotation)} | {_default_text(info)} | "
        f"{_cell(info.description)} |"
        for name, info in model.model_fields.items()
    ]
    head = "| key | type | default | meaning |\n|---|---|---|---|\n"
    return f"## `{key}:`\n\n{_cell(model.__doc__)}\n\n{head}" + "\n".join(rows) + "\n"


def reference_markdown() -> str:
    """The configuration reference: every section and key with its type, default and meaning."""
    parts = [REFERENCE_HEAD]
    top = "| key | type | default | meaning |\n|---|---|---|---|\n"
    for name, info in Config.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            parts.append(_section(info.alias or name, model))
        else:
            top += f"| `{name}` | {_type_text(model)} | {_default_text(info)} | "
            top += f"{_cell(info.description)} |\n"
    parts.insert(1, "## Top level\n\n" + top)
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference_markdown(), end="")
