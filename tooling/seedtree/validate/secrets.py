"""Secrets and personal data in a leaf and in the documents it keeps in this repository.

Private keys and well-known access token formats are errors; e-mail addresses and phone numbers
are warnings (a public figure's address may be meant). The raw text is scanned, so every finding
points at the exact line and column. What no one owns is not personal data: reserved example
domains (``example.com``/``.org``/``.net``, ``.example``, ``.invalid``, ``.test``) and placeholder
phone numbers (``555-0100`` to ``555-0199``, groups of one repeated digit like ``000-000-0000``
or ``111-222-3333``, runs like ``123-456-7890``), nor a repository's SSH address
(``git@github.com:owner/repo``).
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

from seedtree.findings import Finding, Severity
from seedtree.taxonomy.docpolicy import is_this_repository
from seedtree.taxonomy.globs import pattern_problem
from seedtree.taxonomy.safewalk import TooManyEntries, walk
from seedtree.validate.context import FileCheck
from seedtree.yamlpos import read_file

# (what, markers, pattern): a pattern runs only when one of its literal markers is in the text
SECRETS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "a private key",
        ("PRIVATE KEY",),
        re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ),
    ("an AWS access key id", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "a GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{60,})\b", re.ASCII),
    ),
    ("a GitLab token", ("glpat-",), re.compile(r"\bglpat-[A-Za-z0-9_-]{20}\b")),
    ("a Slack token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an OpenAI API key", ("sk-",), re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}")),
    ("a Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Stripe secret key", ("_live_",), re.compile(r"\b[sr]k_live_[0-9A-Za-z]{24,}\b")),
    ("a Hugging Face token", ("hf_",), re.compile(r"\bhf_[A-Za-z]{34}\b")),
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b", re.ASCII)
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]+$", re.ASCII)
PHONE = re.compile(
    r"(?<![\w.+-])(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\)[ .-]?|[0-9]{3}[ .-])"
    r"[0-9]{3}[ .-][0-9]{4}(?![\w.-])",
    re.ASCII,
)
_EXAMPLE_DOMAINS = re.compile(
    r"(^|\.)(example\.(com|org|net)|example|invalid|test|localhost)$", re.I
)
_COUNTRY_CODE = re.compile(r"^\+[0-9]{1,3}[ .-]?")
_RUNS = "01234567890123456789"


class _Lines:
    """Offsets → 1-based line and column, computed only when something was found."""

    def __init__(self, text: str) -> None:
        self.starts = [0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


_SECRET_MESSAGE = "{} in the text: remove it, and revoke it (it is in the git history)"
_PHONE_MESSAGE = "a phone number: remove it unless it is meant to be public"
_EMAIL_MESSAGE = "an e-mail address: remove it unless it is meant to be public (use example.com)"
# one regex pass rules out every secret in the common case
_MARKERS = re.compile("|".join(re.escape(m) for _, markers, _ in SECRETS for m in markers))
# every phone number holds "ddd dddd" (or with "." or "-"): with the digits mapped to "0" and
# the separators to " ", one fast substring search rules it out, 6x faster than a regex
_PHONE_CLASSES = bytes(
    ord("0") if b in b"0123456789" else ord(" ") if b in b" .-" else ord("x") for b in range(256)
)
Match = tuple[int, Severity, str]


def _emails(text: str) -> Iterator[Match]:
    """E-mail addresses, found from each ``@`` (a regex scan from every letter is slow)."""
    at = text.find("@")
    while at >= 0:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        match = EMAIL.match(text, local.start()) if local is not None else None
        if match and not _example_or_ssh(text, match):
            yield match.start(), "warning", _EMAIL_MESSAGE
        at = text.find("@", at + 1)


def _example_or_ssh(text: str, match: re.Match[str]) -> bool:
    """An address at a reserved example domain, or ``git@github.com:owner/repo`` (a
    repository's SSH address): no one's e-mail."""
    address = match.group(0)
    if _EXAMPLE_DOMAINS.search(address.rsplit("@", 1)[1]):
        return True
    return address.startswith("git@") and text.startswith(":", match.end())


def placeholder_phone(number: str) -> bool:
    """A number no one has: 555-0100 to 555-0199 (reserved for fiction), groups of one repeated
    digit (000-000-0000, 111-222-3333), an ascending or descending run (123-456-7890)."""
    groups = re.findall(r"[0-9]+", _COUNTRY_CODE.sub("", number))
    digits = "".join(groups)
    return (
        digits[-7:-2] == "55501"
        or all(len(set(group)) == 1 for group in groups)
        or digits in _RUNS
        or digits in _RUNS[::-1]
    )


def _matches(text: str) -> Iterator[Match]:
    yield from _emails(text)
    if _MARKERS.search(text):
        for what, markers, pattern in SECRETS:
            if any(marker in text for marker in markers):
                for match in pattern.finditer(text):
                    yield match.start(), "error", _SECRET_MESSAGE.format(what)
    if b"000 0000" in text.encode("utf-8", "surrogatepass").translate(_PHONE_CLASSES):
        for match in PHONE.finditer(text):
            if not placeholder_phone(match.group(0)):
                yield match.start(), "warning", _PHONE_MESSAGE


def scan_text(text: str, file: str) -> Iterator[Finding]:
    """Every secret and piece of personal data in ``text``, located in ``file``."""
    lines: _Lines | None = None
    for offset, severity, message in _matches(text):
        lines = lines or _Lines(text)
        line, column = lines.pos(offset)
        rule = "secret" if severity == "error" else "personal-data"
        yield Finding(file, line, column, severity, rule, message)


def in_leaf(check: FileCheck) -> Iterator[Finding]:
    yield from scan_text(check.parsed.text, check.shown)


def local_documents(check: FileCheck, repo_root: Path | None) -> list[Path]:
    """The documents of a knowledge leaf kept in this repository (``repo: .``); symlinks that
    lead outside the repository are never followed (``symlink-outside`` reports them)."""
    data = check.data
    doc = data.get("document") if isinstance(data, dict) else None
    if repo_root is None or not isinstance(doc, dict) or not is_this_repository(doc.get("repo")):
        return []
    patterns = doc.get("patterns")
    found: dict[str, Path] = {}  # by real path: many symlinks to one file are one document
    for pattern in patterns if isinstance(patterns, list) else []:
        if isinstance(pattern, str) and pattern_problem(pattern) is None:
            try:
                paths = [repo_root / p for p in walk(repo_root, pattern).files]
            except TooManyEntries:
                continue
            for path in paths:
                found.setdefault(os.path.realpath(path), path)
    return list(found.values())[:100]


def in_documents(check: FileCheck, repo_root: Path | None) -> Iterator[Finding]:
    documents = local_documents(check, repo_root)
    if not documents:
        return
    base, leaf = Path(check.shown).parent, check.path.parent.resolve()
    for path in documents:
        resolved = path.resolve()
        inside = resolved.is_relative_to(leaf)
        shown = (base / resolved.relative_to(leaf)).as_posix() if inside else str(path)
        text = read_file(path, shown, max_bytes=check.config.max_file_bytes * 10)
        if isinstance(text, str):
            yield from scan_text(text, shown)
