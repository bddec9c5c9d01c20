"""The terminal sanitiser: control characters shown, workflow commands broken, markup escaped."""

from __future__ import annotations

from seedtree import termsafe


def test_one_line_shows_every_control_character() -> None:
    raw = "a\n::error::x\r\x1b[2J\x07\u202eb\tc"
    assert termsafe.text(raw) == "a\\n::error::x\\r\\x1b[2J\\x07\\u202eb\tc"
    assert termsafe.text("::add-mask::x") == "\\x3a:add-mask::x"
    assert termsafe.text("  ::stop-commands::t") == "  \\x3a:stop-commands::t"
    assert termsafe.text("knowledge/a_b: c::d") == "knowledge/a_b: c::d"  # plain text unchanged


def test_several_lines_keep_their_breaks_and_lose_their_commands() -> None:
    message = "bad leaf x\n::error file=a::pwned\n  hint: \x1b]0;title\x07rename it"
    assert termsafe.lines(message).splitlines() == [
        "bad leaf x",
        "\\x3a:error file=a::pwned",
        "  hint: \\x1b]0;title\\x07rename it",
    ]


def test_rich_markup_is_escaped() -> None:
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    console.print(termsafe.markup("[link=https://evil.example]x[/link] [bold]y"))
    console.print(termsafe.markup_lines("[red]a\n::b"))
    shown = console.export_text()
    assert "[link=https://evil.example]x[/link] [bold]y" in shown
    assert "[red]a\n\\x3a:b" in shown
