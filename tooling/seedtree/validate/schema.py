"""The qna.yaml JSON Schemas shipped in ``seedtree/schemas/`` and their evaluation.

The schemas are standard JSON Schema (draft 2020-12) for editors and other tools. Here they are
evaluated by a small evaluator of exactly the keywords they use (listed in :data:`KEYWORDS`),
which imports in microseconds where ``jsonschema`` takes a fifth of a second: a one-file
``seedtree validate`` must start fast. The tests check that its verdicts equal ``jsonschema``'s
on every real and fuzzed file, and that the schemas use no other keyword.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

KINDS = ("knowledge", "skills")
KEYWORDS = frozenset(
    {
        "$schema", "$id", "title", "description", "examples", "deprecated", "$comment",
        "type", "required", "additionalProperties", "properties", "items", "minItems",
        "uniqueItems", "minLength", "const", "if", "then", "not",
    }
)  # fmt: skip
JsonPath = tuple[Any, ...]


@dataclass(frozen=True)
class SchemaError:
    """One violation: where (the instance path, and the offending key if any) and what."""

    path: JsonPath
    message: str
    key: Any = None


def _schemas_dir() -> Any:
    return resources.files("seedtree").joinpath("schemas")


def schema_name(kind: str, version: int) -> str:
    return f"{kind}_v{version}.json"


@cache
def available_versions(kind: str) -> tuple[int, ...]:
    names = [p.name for p in _schemas_dir().iterdir()]
    prefix = f"{kind}_v"
    found = [n[len(prefix) : -len(".json")] for n in names if n.startswith(prefix)]
    return tuple(sorted(int(v) for v in found if v.isdigit()))


def latest_version(kind: str) -> int:
    """The newest schema version for ``kind`` (``knowledge`` or ``skills``)."""
    return available_versions(kind)[-1]


@cache
def load_schema(kind: str, version: int) -> dict[str, Any]:
    text = _schemas_dir().joinpath(schema_name(kind, version)).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def deprecation(kind: str, version: int) -> str | None:
    """The "no longer supported" message of a deprecated schema, else ``None``."""
    schema = load_schema(kind, version)
    return str(schema.get("description")) if schema.get("deprecated") else None


# -- evaluation -------------------------------------------------------------------------------


def _canon(value: Any) -> Any:
    """A hashable form in which equal JSON values (and only those) are equal."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, dict):
        return ("o", frozenset((_canon(k), _canon(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_canon(v) for v in value))
    return ("s", value) if isinstance(value, str) else ("x", repr(value))


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return True


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "empty (null)"
    names = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def errors(schema: dict[str, Any], value: Any, path: JsonPath = ()) -> Iterator[SchemaError]:
    """Every violation of ``schema`` by ``value`` (parents before children)."""
    expected = schema.get("type")
    if expected is not None and not _type_ok(value, expected):
        yield SchemaError(path, f"must be {_TYPE_WORDS[expected]}, not {_describe(value)}")
        return
    if "const" in schema and _canon(value) != _canon(schema["const"]):
        yield SchemaError(path, f"must be {schema['const']!r}, not {value!r}")
    if "not" in schema and not any(True for _ in errors(schema["not"], value, path)):
        yield SchemaError(path, "is not allowed here")
    if "if" in schema and not any(True for _ in errors(schema["if"], value, path)):
        yield from errors(schema.get("then", {}), value, path)
    if isinstance(value, dict):
        yield from _object_errors(schema, value, path)
    elif isinstance(value, list):
        yield from _array_errors(schema, value, path)
    elif isinstance(value, str) and len(value) < schema.get("minLength", 0):
        yield SchemaError(path, "must not be empty")


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a number"}


def _object_errors(
    schema: dict[str, Any], value: dict[Any, Any], path: JsonPath
) -> Iterator[SchemaError]:
    props: dict[str, Any] = schema.get("properties", {})
    missing = [k for k in schema.get("required", ()) if k not in value]
    if missing:
        names = ", ".join(f"'{k}'" for k in missing)
        yield SchemaError(path, f"missing required key{'s' * (len(missing) > 1)} {names}")
    if schema.get("additionalProperties") is False:
        allowed = ", ".join(props)
        for key in value:
            if key not in props:
                yield SchemaError(path, f"unknown key '{key}' (allowed here: {allowed})", key=key)
    for key, sub in props.items():
        if key in value:
            yield from errors(sub, value[key], (*path, key))


def _array_errors(
    schema: dict[str, Any], value: list[Any], path: JsonPath
) -> Iterator[SchemaError]:
    least = schema.get("minItems", 0)
    if len(value) < least:
        yield SchemaError(
            path, f"has {len(value)} item{'s' * (len(value) != 1)}; at least {least} are required"
        )
    if schema.get("uniqueItems"):
        seen: dict[Any, int] = {}
        for index, item in enumerate(value):
            first = seen.setdefault(_canon(item), index)
            if first != index:
                yield SchemaError(
                    (*path, index), f"is the same as item {first}: items must be different"
                )
    items = schema.get("items")
    if items is not None:
        for index, item in enumerate(value):
            yield from errors(items, item, (*path, index))
