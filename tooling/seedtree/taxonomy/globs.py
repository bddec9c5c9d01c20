"""Document patterns: globs over POSIX paths, checked before use and matched in linear time.

A pattern is split at ``/`` into segments. ``**`` as a whole segment matches any number of folders
(none included); in any other segment ``*`` matches any characters but ``/``, ``?`` one, and
``[...]`` one of a set (``[!...]`` or ``[^...]`` none of it, ``a-z`` a range). Matching never
uses a regular expression: a path is read once, segment by segment, keeping the set of pattern
positions it can be at (at most one per segment), and a segment is matched with the classic
two-pointer wildcard walk (no backtracking beyond the last ``*``). A hostile pattern therefore
costs at most ``len(pattern) * len(path)`` steps.

Malformed patterns (empty, absolute, ``..``, an unclosed ``[``, a reversed range, ``**`` that is
not a whole segment, more than :data:`MAX_GLOBSTARS` of them, too long) raise
:class:`PatternError`, which carries the 1-based column of the problem inside the pattern.

A repository's ``.git`` folder (its configuration, credentials a clone keeps, hooks) is never a
document: a segment that names it (``.git``, ``.GIT``, ``.gi?``, ``[.]git``: any segment but a
lone ``*`` that matches ``.git`` in any case) is refused, and :func:`in_git_dir` tells a walk or
a tree listing which paths to leave out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_GLOBSTARS = 3
MAX_PATTERN_CHARS = 1000
MAX_SEGMENTS = 64
GIT_DIR = ".git"
_DRIVE = re.compile(r"^[A-Za-z]:")


class PatternError(ValueError):
    """A malformed pattern: what is wrong and at which character (1-based) of the pattern."""

    def __init__(self, pattern: str, column: int, problem: str) -> None:
        super().__init__(f"pattern '{pattern}': {problem}")
        self.pattern = pattern
        self.column = column
        self.problem = problem


@dataclass(frozen=True)
class CharSet:
    """``[...]``: single characters and ``(low, high)`` ranges, possibly negated."""

    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def has(self, char: str) -> bool:
        inside = char in self.chars or any(lo <= char <= hi for lo, hi in self.ranges)
        return inside != self.negated


# one element of a segment: a literal character, "?" (any one), "*" (any run) or a set
Atom = str | CharSet
GLOBSTAR = "**"


@dataclass(frozen=True)
class Glob:
    """A checked pattern: ``GLOBSTAR`` or a tuple of atoms per segment."""

    text: str
    segments: tuple[str | tuple[Atom, ...], ...]

    def match(self, path: str) -> bool:
        """Whether the POSIX path (relative, ``/``-separated) matches the whole pattern."""
        return self.accepts(self.follow(self.start(), path))

    def may_descend(self, folder: str) -> bool:
        """Whether some path under ``folder`` could match (so a walk must enter it)."""
        return self.alive(self.follow(self.start(), folder))

    def start(self) -> frozenset[int]:
        """The pattern positions before any path segment (a walk carries them down)."""
        return self._close({0})

    def follow(self, states: frozenset[int], path: str) -> frozenset[int]:
        for part in path.split("/") if path else ():
            states = self.step(states, part)
            if not states:
                break
        return states

    def accepts(self, states: frozenset[int]) -> bool:
        return len(self.segments) in states

    def alive(self, states: frozenset[int]) -> bool:
        return any(i < len(self.segments) for i in states)

    def _close(self, states: set[int]) -> frozenset[int]:
        """Add the positions after each ``**`` reached (it may match no folder at all)."""
        out = set(states)
        for i in sorted(states):
            while i < len(self.segments) and self.segments[i] == GLOBSTAR:
                i += 1
                out.add(i)
        return frozenset(out)

    def step(self, states: frozenset[int], part: str) -> frozenset[int]:
        """The positions after one more path segment."""
        nxt: set[int] = set()
        for i in states:
            if i >= len(self.segments):
                continue
            segment = self.segments[i]
            if segment == GLOBSTAR:
                nxt.add(i)
            elif isinstance(segment, tuple) and match_segment(segment, part):
                nxt.add(i + 1)
        return self._close(nxt)


def _atom_matches(atom: Atom, char: str) -> bool:
    if isinstance(atom, CharSet):
        return atom.has(char)
    return atom == "?" or atom == char


def match_segment(atoms: tuple[Atom, ...], text: str) -> bool:
    """Wildcard match of one segment: two pointers, resuming only after the last ``*``."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(atoms) and atoms[p] != "*" and _atom_matches(atoms[p], text[t]):
            p, t = p + 1, t + 1
        elif p < len(atoms) and atoms[p] == "*":
            star, mark, p = p, t, p + 1
        elif star >= 0:
            mark += 1
            p, t = star + 1, mark
        else:
            return False
    while p < len(atoms) and atoms[p] == "*":
        p += 1
    return p == len(atoms)


def _charset(pattern: str, start: int) -> tuple[CharSet, int]:
    """The set opening at ``pattern[start]`` (``[``) and the index just after its ``]``."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] in "!^"
    i += 1 if negated else 0
    body_start = i
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    while i < len(pattern) and (pattern[i] != "]" or i == body_start):
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            low, high = pattern[i], pattern[i + 2]
            if low > high:
                raise PatternError(pattern, i + 1, f"bad range '{low}-{high}' (reversed)")
            ranges.append((low, high))
            i += 3
        else:
            chars.add(pattern[i])
            i += 1
    if i >= len(pattern) or pattern[i] != "]":
        raise PatternError(pattern, start + 1, "'[' is never closed (write '[[]' for a '[')")
    return CharSet(frozenset(chars), tuple(ranges), negated), i + 1


def _segment(pattern: str, offset: int, text: str) -> tuple[Atom, ...]:
    atoms: list[Atom] = []
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            where = offset + i + 1
            raise PatternError(pattern, where, "'**' must be a whole segment, as in 'docs/**/*.md'")
        if text[i] == "[":
            try:
                found, end = _charset(text, i)
            except PatternError as exc:  # located in the segment: locate it in the pattern
                raise PatternError(pattern, offset + exc.column, exc.problem) from None
            atoms.append(found)
            i = end
            continue
        if text[i] == "*" and atoms and atoms[-1] == "*":
            i += 1
            continue
        atoms.append(text[i])
        i += 1
    return tuple(atoms)


def _shape_problem(pattern: str) -> PatternError | None:
    if not pattern:
        return PatternError(pattern, 1, "an empty pattern")
    if len(pattern) > MAX_PATTERN_CHARS:
        return PatternError(pattern[:40] + "…", 1, f"longer than {MAX_PATTERN_CHARS} characters")
    if pattern.startswith(("/", "\\")) or _DRIVE.match(pattern):
        return PatternError(pattern, 1, "is absolute: write it relative to the repository")
    parts = re.split(r"[/\\]", pattern)
    if ".." in parts:
        return PatternError(
            pattern, pattern.find("..") + 1, "uses '..': stay inside the repository"
        )
    if len(parts) > MAX_SEGMENTS:
        return PatternError(pattern, 1, f"more than {MAX_SEGMENTS} folders deep")
    if "" in parts[:-1] or not parts[-1]:
        return PatternError(pattern, 1, "an empty folder name ('//' or a trailing '/')")
    return None


def is_git_name(name: str) -> bool:
    """Whether a file name is the ``.git`` folder (in any case: ``.GIT`` is it on macOS)."""
    return name.casefold() == GIT_DIR


def in_git_dir(path: str) -> bool:
    """Whether a relative POSIX path has a ``.git`` component (it is outside every boundary)."""
    return any(is_git_name(part) for part in path.split("/"))


# ".git" in every case, to try a wildcard segment against
_GIT_NAMES = tuple(
    "." + "".join(c.upper() if (n >> i) & 1 else c for i, c in enumerate("git")) for n in range(8)
)


def names_git(atoms: tuple[Atom, ...]) -> bool:
    """Whether a segment can match ``.git`` (a lone ``*``, which matches every name, aside)."""
    return atoms != ("*",) and any(match_segment(atoms, name) for name in _GIT_NAMES)


def _compile(pattern: str) -> Glob:
    problem = _shape_problem(pattern)
    if problem is not None:
        raise problem
    segments: list[str | tuple[Atom, ...]] = []
    offset = 0
    for part in pattern.split("/"):
        segment = GLOBSTAR if part == GLOBSTAR else _segment(pattern, offset, part)
        if isinstance(segment, tuple) and names_git(segment):
            why = "reaches into '.git', which is never a document: name the documents' folder"
            raise PatternError(pattern, offset + 1, why)
        segments.append(segment)
        if segments.count(GLOBSTAR) > MAX_GLOBSTARS:
            raise PatternError(pattern, offset + 1, f"more than {MAX_GLOBSTARS} '**' segments")
        offset += len(part) + 1
    return Glob(pattern, tuple(segments))


@lru_cache(maxsize=1024)
def _cached(pattern: str) -> Glob | PatternError:
    try:
        return _compile(pattern)
    except PatternError as exc:
        return exc


def compile_glob(pattern: str) -> Glob:
    """The checked pattern; raises :class:`PatternError` for a malformed one."""
    found = _cached(pattern)
    if isinstance(found, PatternError):
        raise found
    return found


def pattern_problem(pattern: str) -> PatternError | None:
    """What is wrong with ``pattern`` (``None`` when it is well formed)."""
    found = _cached(pattern)
    return found if isinstance(found, PatternError) else None


def literal_prefix(glob: Glob) -> str:
    """The leading folders of a pattern that hold no wildcard (where a walk can start)."""
    folders: list[str] = []
    for segment in glob.segments[:-1]:
        if segment == GLOBSTAR or any(not isinstance(a, str) or a in "*?" for a in segment):
            break
        folders.append("".join(str(a) for a in segment))
    return "/".join(folders)
