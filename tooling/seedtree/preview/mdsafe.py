"""Untrusted text in GitHub-flavoured Markdown comments, made inert.

Everything a pull request controls (leaf text, file names, model output generated from them) goes
through one of the builders here before it reaches a comment. The result cannot inject HTML, leave
a code block or a ``<details>`` section, mention a user or team (``@name``, also written as an
HTML entity such as ``&#64;name``), or link an issue (``#12``, ``GH-12``, URLs); each field is
capped in length, and a whole document is kept under GitHub's 65,536-character limit, saying what
was cut.

Markdown built here has the type :data:`Md`, HTML text (a ``<summary>``) the type :data:`Html`;
plain ``str`` is untrusted. The two contexts escape differently (backslashes mean nothing inside an
HTML block), so the types keep them apart. Code that writes its own fixed Markdown or HTML wraps
it with :func:`trusted` or :func:`trusted_html`.

How: Markdown text writes ``&``, ``<`` and ``>`` as entities (inert in Markdown and in HTML alike)
and backslash-escapes the other characters that mean something anywhere in a line (backslash,
backtick, ``*``, ``_``, brackets, ``|``, ``~``, ``#``, ``!``, ``$``) and those that do at its start
(``-``, ``+``, ``=``, ``1.``); lines are stripped, so indentation cannot make a code block.
HTML text is entity escaped; code keeps its text verbatim inside a fence longer than any backtick
run it contains (GitHub links nothing inside code). GitHub finds mentions and issue references in
the rendered text, after entities are decoded, so a zero-width space is put after ``@``, after
``#`` before a digit, inside ``GH-1`` and inside ``://`` and ``www.``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import NewType
from urllib.parse import quote, urlsplit

Md = NewType("Md", str)
Html = NewType("Html", str)  # text fit for inside an HTML element (a ``<summary>``)

GITHUB_LIMIT = 65_536  # characters GitHub accepts in a comment body
COMMENT_BUDGET = 60_000  # what a document aims for, leaving room for the marker and notes
FIELD_LIMIT = 300  # one-line fields: ids, paths, rule names, messages
TEXT_LIMIT = 2_000  # prose: seed questions and answers, generated samples
CODE_LIMIT = 4_000  # code blocks: contexts, document chunks

ZWSP = "\u200b"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_ALWAYS = re.compile(r"([\\`*_\[\]|~#!$])")  # meaningful anywhere in a line
_LIST_NUMBER = re.compile(r"^(\d{1,9})([.)])")  # "1." or "1)" opening a line
_LEADING = frozenset("-+=")  # list bullets, setext underlines and breaks at a line's start
_MENTION = re.compile(r"@(?=[\w-])")
_WORD_MENTION = re.compile(r"(?<!\w)@(?=[\w-])")  # not inside an e-mail address
_INLINE = re.compile(r"([\\`*\[\]|~$])")  # what opens markup inside a line (not ``_``, ``!``)
_LONE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # not between two letters or digits
_ISSUE = re.compile(r"#(?=\d)")
_GH_REF = re.compile(r"(?i)\b(gh)-(?=\d)")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\b(www)\.")
_SPACE = re.compile(r"\s+")
_LANG = re.compile(r"[^a-z0-9_+-]")


def trusted(markdown: str) -> Md:
    """Mark Markdown written by seedtree itself (never text from a pull request) as safe."""
    return Md(markdown)


def trusted_html(fragment: str) -> Html:
    """Mark HTML text written by seedtree itself as safe inside an element."""
    return Html(fragment)


def join(parts: Iterable[Md], sep: str = "") -> Md:
    """Concatenate safe fragments with a fixed separator."""
    return Md(sep.join(parts))


def utf16_len(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units, so an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def clean(text: str) -> str:
    """Drop control characters; make bidirectional overrides visible as U+FFFD."""
    return _CONTROL.sub(lambda m: "" if m.group() < "\x80" else "\ufffd", text)


def neutralize(text: str, mention: re.Pattern[str] = _MENTION) -> str:
    """Break what GitHub would turn into a mention, an issue link or an autolinked URL."""
    text = mention.sub("@" + ZWSP, text)
    text = _ISSUE.sub("#" + ZWSP, text)
    text = _GH_REF.sub(lambda m: m.group(1) + "-" + ZWSP, text)
    text = _SCHEME.sub(lambda m: m.group(1) + ":" + ZWSP, text)
    return _WWW.sub(lambda m: m.group(1) + ZWSP + ".", text)


def truncate(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut to ``limit`` characters, and how many were cut."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def _cut_note(cut: int) -> str:
    return f" *… {cut:,} more characters cut*" if cut else ""


def _escape_md(line: str) -> str:
    """One line of text, every character that could start Markdown syntax escaped."""
    entities = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _LIST_NUMBER.sub(r"\1\\\2", _ALWAYS.sub(r"\\\1", entities))
    return "\\" + escaped if escaped[:1] in _LEADING else escaped


def text(value: object, limit: int = FIELD_LIMIT) -> Md:
    """One line of Markdown text: whitespace (newlines too) collapsed, everything escaped."""
    one_line = _SPACE.sub(" ", clean(str(value))).strip()
    kept, cut = truncate(one_line, limit)
    return Md(_escape_md(neutralize(kept)) + _cut_note(cut))


def inline(value: object, limit: int = FIELD_LIMIT) -> Md:
    """One line of inert Markdown that leaves a plain name as it is (a leaf's path, a license,
    ``arc_easy``): only what could open markup is escaped, ``_`` only where it could emphasise
    (not inside a word) and ``@`` only where it could mention (not in an e-mail address)."""
    one_line = _SPACE.sub(" ", clean(str(value))).strip()
    kept, cut = truncate(one_line, limit)
    entities = kept.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    marked = _INLINE.sub(r"\\\1", neutralize(entities, _WORD_MENTION))
    escaped = _LIST_NUMBER.sub(r"\1\\\2", _LONE_UNDERSCORE.sub(r"\\_", marked))
    lead = "\\" if escaped[:1] in _LEADING or escaped[:1] == "#" else ""
    return Md(lead + escaped + _cut_note(cut))


def paragraphs(value: object, limit: int = TEXT_LIMIT) -> Md:
    """Multi-line prose: blank lines separate paragraphs, other line breaks are kept."""
    kept, cut = truncate(clean(str(value)).strip(), limit)
    blocks = []
    for block in re.split(r"\n\s*\n", kept):
        lines = [_escape_md(neutralize(line.strip())) for line in block.splitlines()]
        blocks.append("\\\n".join(line for line in lines if line))
    body = "\n\n".join(b for b in blocks if b) or "*(empty)*"
    return Md(body + _cut_note(cut))


def html_text(value: object, limit: int = FIELD_LIMIT) -> Html:
    """Text inside an HTML element (a ``<summary>``): one line, entity escaped."""
    one_line = _SPACE.sub(" ", clean(str(value))).strip()
    kept, cut = truncate(one_line, limit)
    note = f" … {cut:,} more characters cut" if cut else ""
    return Html(html.escape(neutralize(kept), quote=True) + note)


def _longest_run(value: str, char: str) -> int:
    runs = re.findall(re.escape(char) + "+", value)
    return max((len(r) for r in runs), default=0)


def code_span(value: object, limit: int = FIELD_LIMIT) -> Md:
    """Inline code, verbatim, on one line (the backtick run is longer than any inside)."""
    one_line = _SPACE.sub(" ", clean(str(value))).strip()
    kept, cut = truncate(one_line, limit)
    if not kept:
        return Md("*(empty)*")
    ticks = "`" * (_longest_run(kept, "`") + 1)
    pad = " " if kept.startswith("`") or kept.endswith("`") else ""
    return Md(f"{ticks}{pad}{kept}{pad}{ticks}" + _cut_note(cut))


def code_block(value: object, lang: str = "", limit: int = CODE_LIMIT) -> Md:
    """A fenced code block holding ``value`` verbatim; no line of it can close the fence."""
    kept, cut = truncate(clean(str(value).replace("\t", "    ")).rstrip("\n"), limit)
    fence = "`" * max(3, _longest_run(kept, "`") + 1)
    info = _LANG.sub("", lang.lower())[:20]
    block = f"{fence}{info}\n{kept}\n{fence}"
    return Md(block + ("\n\n" + _cut_note(cut).strip() if cut else ""))


def url(value: str) -> str:
    """A URL fit for a link destination: http(s) only, every unsafe character percent-encoded."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return quote(value, safe=":/?#[]@!$&'*+,;=%~-._")


def link(label: object, target: str) -> Md:
    """``[label](target)`` with the label escaped and the target checked and encoded."""
    return Md(f"[{text(label)}](<{url(target)}>)")


def details(summary: Html, body: Md, *, open_: bool = False) -> Md:
    """A collapsible section with a one-line summary (HTML text) and a Markdown body."""
    tag = "<details open>" if open_ else "<details>"
    return Md(f"{tag}<summary>{summary}</summary>\n\n{body}\n\n</details>")


def assemble(head: Md, blocks: Sequence[Md], limit: int = COMMENT_BUDGET) -> Md:
    """``head`` then as many whole ``blocks`` as fit in ``limit``, saying how many were cut."""
    out = [head]
    used = utf16_len(head)
    reserve = 300
    for index, block in enumerate(blocks):
        size = utf16_len(block) + 2
        if used + size > limit - reserve:
            left = len(blocks) - index
            out.append(
                trusted(
                    f"> **Cut:** {left} of {len(blocks)} sections are not shown, to keep this "
                    f"comment under GitHub's {GITHUB_LIMIT:,}-character limit. The full preview "
                    "is in the workflow run's artifact."
                )
            )
            break
        out.append(block)
        used += size
    return join(out, "\n\n")


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _closes(run: str, line: str, fence: str) -> bool:
    return run[0] == fence[0] and len(run) >= len(fence) and not line.strip().strip(fence[0])


def _open_structures(lines: Sequence[str]) -> tuple[str | None, int]:
    """The fence still open after ``lines`` (if any) and how many ``<details>`` are open."""
    fence: str | None = None
    depth = 0
    for line in lines:
        match = _FENCE.match(line)
        if fence is not None:
            if match and _closes(match.group(1), line, fence):
                fence = None
            continue
        if match:
            fence = match.group(1)
        elif line.startswith("<details"):
            depth += 1
        elif line.startswith("</details>"):
            depth = max(0, depth - 1)
    return fence, depth


def fit(document: str, limit: int = GITHUB_LIMIT) -> str:
    """``document`` unchanged if it fits, else cut at a line, open structures closed, a note."""
    if utf16_len(document) <= limit:
        return document
    lines = document.splitlines()
    note = (
        f"\n\n> **Cut:** the rest of this preview is not shown, to keep it under GitHub's "
        f"{GITHUB_LIMIT:,}-character limit. The full preview is in the workflow run's artifact."
    )
    budget = limit - utf16_len(note) - 200
    kept: list[str] = []
    used = 0
    for line in lines:
        used += utf16_len(line) + 1
        if used > budget:
            break
        kept.append(line)
    fence, depth = _open_structures(kept)
    closing = ([fence] if fence else []) + ["", "</details>"] * depth
    return "\n".join(kept + closing) + note
