"""Secrets and personal data in a leaf and in the documents it keeps in this repository.

Private keys and well-known access token formats are errors; e-mail addresses and phone numbers
are warnings (a public figure's address may be meant). The raw text is scanned, so every finding
points at the exact line and column. Reserved example domains (``example.com``, ``.invalid``,
``.test``) are not personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from seedtree.findings import Finding, Severity
from seedtree.validate.context import FileCheck
from seedtree.yamlpos import read_file

SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{60,})\b")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an OpenAI API key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Stripe secret key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{24,}\b")),
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z]{34}\b")),
)
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")
PHONE = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w.-])"
)
_EXAMPLE_DOMAINS = re.compile(r"(^|\.)(example\.(com|org|net)|invalid|test|localhost)$", re.I)


def scan_text(text: str, file: str, severity_of_secret: Severity = "error") -> Iterator[Finding]:
    """Every secret and piece of personal data in ``text``, located in ``file``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        for what, pattern in SECRETS:
            for match in pattern.finditer(line):
                yield Finding(
                    file,
                    number,
                    match.start() + 1,
                    severity_of_secret,
                    "secret",
                    f"{what} in the text: remove it, and revoke it (it is in the git history)",
                )
        yield from _personal(line, number, file)


def _personal(line: str, number: int, file: str) -> Iterator[Finding]:
    if "@" in line:
        for match in EMAIL.finditer(line):
            domain = match.group(0).rsplit("@", 1)[1]
            if not _EXAMPLE_DOMAINS.search(domain):
                yield Finding(
                    file,
                    number,
                    match.start() + 1,
                    "warning",
                    "personal-data",
                    "an e-mail address: remove it unless it is meant to be public "
                    "(use example.com)",
                )
    for match in PHONE.finditer(line):
        yield Finding(
            file,
            number,
            match.start() + 1,
            "warning",
            "personal-data",
            "a phone number: remove it unless it is meant to be public",
        )


def in_leaf(check: FileCheck) -> Iterator[Finding]:
    yield from scan_text(check.parsed.text, check.shown)


def local_documents(check: FileCheck, repo_root: Path | None) -> list[Path]:
    """The documents of a knowledge leaf kept in this repository (``repo: .``)."""
    data = check.data
    doc = data.get("document") if isinstance(data, dict) else None
    if repo_root is None or not isinstance(doc, dict) or doc.get("repo") != ".":
        return []
    patterns = doc.get("patterns")
    found: list[Path] = []
    for pattern in patterns if isinstance(patterns, list) else []:
        if _safe_pattern(pattern):
            found.extend(p for p in sorted(repo_root.glob(pattern)) if p.is_file())
    return found[:100]


def _safe_pattern(pattern: object) -> bool:
    if not isinstance(pattern, str) or not pattern or pattern.startswith("/"):
        return False
    return ".." not in pattern.split("/")


def in_documents(check: FileCheck, repo_root: Path | None) -> Iterator[Finding]:
    base, leaf = Path(check.shown).parent, check.path.parent.resolve()
    for path in local_documents(check, repo_root):
        resolved = path.resolve()
        inside = resolved.is_relative_to(leaf)
        shown = (base / resolved.relative_to(leaf)).as_posix() if inside else str(path)
        text = read_file(path, shown, max_bytes=check.config.max_file_bytes * 10)
        if isinstance(text, str):
            yield from scan_text(text, shown)
