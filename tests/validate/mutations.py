"""Mutations of real leaves for robustness tests and the fuzz benchmark (deterministic per seed).

Each operator returns the bytes of a damaged ``qna.yaml``: a dropped, duplicated or retyped
key, random bytes, deep nesting, aliases, huge scalars, truncation, and hostile ``document``
blocks (forbidden repositories, backtracking and malformed patterns).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import yaml

Mutator = Callable[[str, random.Random], bytes]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_VALUES: tuple[Any, ...] = (None, True, 0, -1, 3.5, "", "x", [], {}, [1, 2], {"k": "v"}, "3")


def _paths(value: Any, limit: int = 5000) -> list[tuple[Any, ...]]:
    """Paths of ``value`` breadth first, at most ``limit`` (aliases may share huge subtrees)."""
    found: list[tuple[Any, ...]] = []
    queue: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while queue and len(found) < limit:
        prefix, node = queue.pop(0)
        found.append(prefix)
        if isinstance(node, dict):
            queue += [((*prefix, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            queue += [((*prefix, i), v) for i, v in enumerate(node)]
    return found


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_LOADER)
    except (yaml.YAMLError, RecursionError):
        return None


def _dump(data: Any) -> bytes:
    try:
        return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True).encode()
    except (yaml.YAMLError, RecursionError):
        return b"unrepresentable: true\n"


def _parent_and_key(data: Any, rng: random.Random) -> tuple[Any, Any] | None:
    paths = [p for p in _paths(data) if p]
    if not paths:
        return None
    path = rng.choice(paths)
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    return parent, path[-1]


def drop_key(text: str, rng: random.Random) -> bytes:
    data = _load(text)
    found = _parent_and_key(data, rng)
    if found is None:
        return text.encode()
    parent, key = found
    del parent[key]
    return _dump(data)


def retype_value(text: str, rng: random.Random) -> bytes:
    data = _load(text)
    found = _parent_and_key(data, rng)
    if found is None:
        return text.encode()
    parent, key = found
    parent[key] = rng.choice(_VALUES)
    return _dump(data)


def duplicate_line(text: str, rng: random.Random) -> bytes:
    lines = text.splitlines(keepends=True)
    index = rng.randrange(len(lines)) if lines else 0
    return "".join(lines[: index + 1] + lines[index:]).encode()


def random_bytes(text: str, rng: random.Random) -> bytes:
    raw = bytearray(text.encode())
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(raw) + 1)
        raw[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    return bytes(raw)


def truncate(text: str, rng: random.Random) -> bytes:
    raw = text.encode()
    return raw[: rng.randrange(len(raw) + 1)]


def deep_nesting(text: str, rng: random.Random) -> bytes:
    depth = rng.choice((10, 63, 64, 65, 500, 5000))
    nested = "[" * depth + "]" * depth if rng.random() < 0.5 else "- " * depth + "x"
    return (text + f"\nextra: {nested}\n").encode() if nested[0] == "[" else nested.encode()


def aliases(text: str, rng: random.Random) -> bytes:
    width, depth = rng.randint(2, 12), rng.randint(2, 9)
    rows = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    rows += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth)]
    return (text + "\n" + "\n".join(rows) + "\n").encode()


def huge_scalar(text: str, rng: random.Random) -> bytes:
    size = rng.choice((10_000, 200_000, 900_000, 2_000_000))
    return (text + "\nhuge: " + "w " * (size // 2) + "\n").encode()


def swap_lines(text: str, rng: random.Random) -> bytes:
    lines = text.splitlines(keepends=True)
    if len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines).encode()


HOSTILE_REPOS = (
    "..",
    "../..",
    "~",
    "/etc",
    "file:///etc",
    "ssh://host/r.git",
    "git@host:r.git",
    "http://github.com/a/b",
    "https://evil.example/a",
    "https://u:p@github.com/a/b",
    "-oProxyCommand=x",
    "\x00",
    ".",
    "./",
    "https://github.com/a/b",
)
HOSTILE_PATTERNS = (
    "[z-a]",
    "a[!].md",
    "docs/**.md",
    "**/**/**/**/x",
    "[",
    "]",
    "[!]",
    "[^-]",
    "/etc/passwd",
    "../x.md",
    "a//b",
    "",
    "*" * 200,
    "**/" + "a*" * 40 + "b/**/x.md",
    "/".join(["*"] * 80),
    "é/[é-ü]/*.md",
    "x" * 2000,
)


def hostile_document(text: str, rng: random.Random) -> bytes:
    """A ``document`` block naming a hostile repository and patterns."""
    data = _load(text)
    if not isinstance(data, dict):
        data = {"version": 3}
    patterns = [rng.choice(HOSTILE_PATTERNS) for _ in range(rng.randint(1, 4))]
    document: dict[str, Any] = {"repo": rng.choice(HOSTILE_REPOS), "patterns": patterns}
    if rng.random() < 0.5:
        document["commit"] = rng.choice(("0" * 40, "HEAD", "-x", "a" * 64))
    data["document"] = document
    return _dump(data)


MUTATORS: tuple[Mutator, ...] = (
    drop_key,
    retype_value,
    duplicate_line,
    random_bytes,
    truncate,
    deep_nesting,
    aliases,
    huge_scalar,
    swap_lines,
    hostile_document,
)


def mutate(text: str, seed: int) -> bytes:
    """One to three mutations of ``text``, chosen by ``seed``."""
    rng = random.Random(seed)
    out = text.encode()
    for _ in range(rng.randint(1, 3)):
        current = out.decode("utf-8", "replace")
        out = rng.choice(MUTATORS)(current, rng)
    return out
