"""Render Markdown with CommonMark and read it back as GitHub would post-process it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# What GitHub would turn into a notification or a link when it post-processes rendered text.
MENTION = re.compile(r"(?<![\w`/])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9][\w-]*)?")
ISSUE = re.compile(r"(?<![\w&/])#\d+|\bGH-\d+|\b[\w.-]+/[\w.-]+#\d+", re.IGNORECASE)
AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp)://|\bwww\.")
SKIPPED = {"code", "pre", "a"}  # GitHub links nothing inside these


@dataclass
class Rendered:
    """A CommonMark rendering, parsed back: tags in order, and text outside code."""

    html: str
    tags: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)

    def linkable(self) -> list[str]:
        """Mentions, issue references and URLs GitHub would link in the plain text."""
        found: list[str] = []
        for chunk in self.text:
            for pattern in (MENTION, ISSUE, AUTOLINK):
                found += pattern.findall(chunk)
        return found


class _Collector(HTMLParser):
    def __init__(self, out: Rendered) -> None:
        super().__init__(convert_charrefs=True)
        self.out = out
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.tags.append(tag)
        if tag not in {"br", "hr", "img"}:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.out.tags.append("/" + tag)
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        target = self.out.code if SKIPPED & set(self.stack) else self.out.text
        target.append(data)


def render(markdown: str) -> Rendered:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(markdown)
    out = Rendered(html)
    _Collector(out).feed(html)
    return out
