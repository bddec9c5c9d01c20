"""Untrusted text on a terminal or in a CI log, made inert.

Leaf names, paths and the messages that quote them come from contributors. Printed raw, an
escape sequence can move the cursor, rewrite earlier lines, retitle the terminal or plant a
hyperlink; a carriage return hides what came before it; and in a GitHub Actions log a line that
starts with ``::`` is a workflow command (``::error::``, ``::add-mask::``, ``::stop-commands::``),
so a name holding a newline followed by ``::`` would give the runner orders.

Everything printed that such text reaches goes through one function here: :func:`text` for one
line (a leaf's name, a reason), :func:`lines` for a message of several lines (an error and its
hint); :func:`markup` and :func:`markup_lines` also escape rich's ``[style]`` markup, for a rich
console. Control characters are shown as escapes (``\\n``, ``\\x1b``), and a line that would start
with ``::`` starts with ``\\x3a:`` instead.
"""

from __future__ import annotations

import re

# C0 (tab aside) and C1 controls, DEL, line and paragraph separators, bidirectional overrides
_CONTROL = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_COMMAND = re.compile(r"^(\s*):(?=:)")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def text(value: object) -> str:
    """``value`` as one inert line: control characters escaped, a leading ``::`` broken."""
    return _COMMAND.sub(r"\1\\x3a", _CONTROL.sub(_visible, str(value)))


def lines(value: object) -> str:
    """``value`` with its line breaks kept, each line made inert as by :func:`text`."""
    return "\n".join(text(line) for line in str(value).split("\n"))


def markup(value: object) -> str:
    """:func:`text`, with rich's markup escaped (for a table cell or a rich ``print``)."""
    from rich.markup import escape

    return escape(text(value))


def markup_lines(value: object) -> str:
    """:func:`lines`, with rich's markup escaped."""
    from rich.markup import escape

    return escape(lines(value))
