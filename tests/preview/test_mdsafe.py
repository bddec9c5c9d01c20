"""Untrusted text rendered with a CommonMark parser: inert HTML, no mentions or links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mdrender import render

from seedtree.preview import mdsafe

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</details><details open><summary>fake</summary>",
    "</summary></details>\n\n<b>out</b>",
    "hi @octocat and @org/team please",
    "&#64;octocat &#x40;admin &commat;root",
    "see #123, GH-45, octo/seeds#9",
    "https://github.com/octo/seeds/issues/1 and www.example.com",
    "```\n</details>\n```",
    "````` five ````` ticks",
    "[click](javascript:alert(1)) ![x](https://e.invalid/x.png)",
    "*bold* _it_ | pipe | <!-- comment --> \\",
    "line one\n\n# heading\n    indented\n> quote\n- item\n1. one\n---\n===",
    "\u202eevil\u202c bidi and \x00nul\x07bell",
]
FORBIDDEN_TAGS = {"script", "img", "b", "a", "h1", "ul", "ol", "blockquote", "hr", "h2"}


def _fragments(value: str) -> list[mdsafe.Md]:
    return [
        mdsafe.text(value),
        mdsafe.paragraphs(value),
        mdsafe.code_span(value),
        mdsafe.code_block(value, lang="yaml"),
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_stays_inside_its_details_section(value: str) -> None:
    parts = [mdsafe.details(mdsafe.html_text(value), frag) for frag in _fragments(value)]
    out = render(mdsafe.join(parts, "\n\n"))
    opened = [t for t in out.tags if t == "details"]
    closed = [t for t in out.tags if t == "/details"]
    assert len(opened) == len(closed) == 4
    assert out.tags.count("summary") == 4
    assert not FORBIDDEN_TAGS & {t.lstrip("/") for t in out.tags}, out.html
    assert out.linkable() == [], out.html
    assert "open" not in out.html.split("<details")[1].split(">")[0]


def test_details_nesting_is_exactly_what_was_built() -> None:
    inner = mdsafe.details(mdsafe.html_text("</details>"), mdsafe.code_block("</details>"))
    outer = mdsafe.details(
        mdsafe.trusted_html("leaf"), mdsafe.join([inner, mdsafe.text("</details>")])
    )
    out = render(outer + "\n\nafter")
    structure = [t for t in out.tags if "details" in t]
    assert structure == ["details", "details", "/details", "/details"]
    assert out.html.rstrip().endswith("<p>after</p>")


def test_code_keeps_text_verbatim_and_the_fence_cannot_be_closed() -> None:
    value = "a ``` b\n```\n`````\n~~~\n@octocat #1 <b>"
    out = render(mdsafe.code_block(value, lang="text"))
    assert out.tags == ["pre", "code", "/code", "/pre"]
    assert "".join(out.code).rstrip("\n") == value


def test_code_span_with_backticks_round_trips() -> None:
    out = render(mdsafe.code_span("`a`` b`"))
    assert "".join(out.code) == "`a`` b`"


@pytest.mark.parametrize(
    ("value", "visible"),
    [("a <b> & c", "a <b> & c"), ("x * y _ z", "x * y _ z"), ("5 | 6", "5 | 6")],
)
def test_escaped_text_reads_as_written(value: str, visible: str) -> None:
    out = render(mdsafe.text(value))
    assert "".join(out.text).strip() == visible


def test_entity_written_mention_shows_as_entity_text() -> None:
    out = render(mdsafe.text("&#64;octocat"))
    assert "@octocat" not in "".join(out.text)
    assert "".join(out.text).replace(mdsafe.ZWSP, "").strip() == "&#64;octocat"


def test_fields_are_capped_and_say_so() -> None:
    long = "x" * 5000
    assert "4,700 more characters cut" in mdsafe.text(long, limit=300)
    assert "3,000 more characters cut" in mdsafe.paragraphs(long, limit=2000)
    block = mdsafe.code_block(long, limit=1000)
    assert "4,000 more characters cut" in block
    assert block.count("x") == 1000


def test_link_encodes_the_target_and_escapes_the_label() -> None:
    md = mdsafe.link("a](evil) @x", "https://github.com/o/r/blob/abc/t/a b(1).yaml#L3")
    out = render(md)
    assert out.tags == ["p", "a", "/a", "/p"]
    assert 'href="https://github.com/o/r/blob/abc/t/a%20b%281%29.yaml#L3"' in out.html
    with pytest.raises(ValueError, match="not an http"):
        mdsafe.link("x", "javascript:alert(1)")


def test_assemble_drops_whole_sections_to_stay_under_the_limit() -> None:
    blocks = [
        mdsafe.details(mdsafe.trusted_html(f"s{i}"), mdsafe.code_block("y" * 900))
        for i in range(40)
    ]
    doc = mdsafe.assemble(mdsafe.trusted("# head"), blocks, limit=10_000)
    assert mdsafe.utf16_len(doc) <= 10_000
    assert "sections are not shown" in doc
    out = render(doc)
    assert out.tags.count("details") == out.tags.count("/details") > 0


def test_fit_closes_open_fences_and_details() -> None:
    doc = "<details><summary>s</summary>\n\n```\n" + "line\n" * 30_000 + "```\n\n</details>\n"
    cut = mdsafe.fit(doc)
    assert mdsafe.utf16_len(cut) <= mdsafe.GITHUB_LIMIT
    assert "is not shown" in cut
    out = render(cut)
    assert out.tags.count("details") == out.tags.count("/details") == 1
    assert "is not shown" in "".join(out.text)


def test_length_is_counted_as_github_does() -> None:
    assert mdsafe.utf16_len("a😀") == 3


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/&#@`~*_[]()!|\\-=:.\n \tdetailsummary0123456789GHw")),
        max_size=80,
    )
)
def test_any_text_renders_inert(value: str) -> None:
    parts = [mdsafe.details(mdsafe.html_text(value), frag) for frag in _fragments(value)]
    out = render(mdsafe.join(parts, "\n\n"))
    assert [t for t in out.tags if "details" in t] == ["details", "/details"] * 4
    assert not FORBIDDEN_TAGS & {t.lstrip("/") for t in out.tags}
    assert out.linkable() == []
