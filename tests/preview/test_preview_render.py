"""The preview comment rendered from a hostile report: structure intact, nothing injected."""

from __future__ import annotations

import json
import re

import pytest
from mdrender import render as commonmark

from seedtree.errors import UsageError
from seedtree.preview import mdsafe
from seedtree.preview.model import (
    ChunkView,
    DroppedView,
    Figure,
    FindingView,
    LeafPreview,
    PreviewReport,
    SampleView,
    SeedView,
    load_report,
)
from seedtree.preview.render import Links, links_from_env, render

EVIL = "</summary></details><img src=x onerror=alert(1)> @octocat &#64;team #12 GH-3 ```"
LINKS = Links("https://github.example", "octo/seeds", "a" * 40)


def _leaf(i: int, change: str = "added", text: str = EVIL) -> LeafPreview:
    return LeafPreview(
        id=f"compositional_skills/x{i}/{text}",
        change=change,  # type: ignore[arg-type]
        kind="skill",
        files=[f"taxonomy/x{i}/qna.yaml"],
        findings=[
            FindingView(
                file=f"taxonomy/x{i}/qna.yaml",
                line=3,
                column=5,
                severity="error",
                rule="schema",
                message=text,
            )
        ],
        seeds=[SeedView(question=text, answer=text, context=text)],
        samples=[SampleView(question=text, answer=text, scores={"pair": 3.0, text: 1.0})],
        funnel=[Figure(label="questions", value=12), Figure(label=text, value=3)],
        estimate=[Figure(label="teacher calls", value=240)],
        chunks=[ChunkView(source=text, index=0, text=text)],
        dropped=DroppedView(seeds=5, samples=30) if change == "deleted" else None,
    )


def _report(leaves: list[LeafPreview]) -> PreviewReport:
    return PreviewReport(
        base_ref=EVIL, base_commit="b" * 40, head_commit="c" * 40, teacher=EVIL,
        samples_per_leaf=3, seconds=42.0, leaves=leaves,
    )  # fmt: skip


def _top_level_details(tags: list[str]) -> int:
    depth = count = 0
    for tag in tags:
        if tag == "details":
            count += depth == 0
            depth += 1
        elif tag == "/details":
            depth -= 1
            assert depth >= 0
    assert depth == 0
    return count


def test_hostile_report_renders_inert_with_one_section_per_leaf() -> None:
    leaves = [_leaf(1), _leaf(2, "modified"), _leaf(3, "deleted")]
    md = render(_report(leaves), LINKS)
    out = commonmark(md)
    assert not {"img", "script"} & set(out.tags), out.html
    assert out.linkable() == []
    assert _top_level_details(out.tags) == 3
    assert out.tags.count("details") == out.tags.count("/details")
    assert out.tags.count("table") == 1
    hrefs = re.findall(r'href="([^"]+)"', out.html)
    assert hrefs and all(h.startswith("https://github.example/octo/seeds/blob/aaaa") for h in hrefs)
    assert "Retraining will drop" in md


def test_findings_link_to_file_lines_or_show_plain_paths() -> None:
    md = render(_report([_leaf(1)]), LINKS)
    assert f"https://github.example/octo/seeds/blob/{'a' * 40}/taxonomy/x1/qna.yaml#L3" in md
    plain = render(_report([_leaf(1)]), None)
    assert "href" not in commonmark(plain).html
    assert "taxonomy/x1/qna.yaml:3:5" in "".join(commonmark(plain).code)


def test_paths_that_leave_the_repository_are_not_linked() -> None:
    assert LINKS.blob("../../evil") is None
    assert LINKS.blob("/etc/passwd") is None
    assert LINKS.blob("taxonomy/a b.yaml", 2) == (
        f"https://github.example/octo/seeds/blob/{'a' * 40}/taxonomy/a%20b.yaml#L2"
    )


def test_link_base_comes_only_from_a_well_formed_environment() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r"}
    assert links_from_env(env, "d" * 40) == Links("https://github.com", "o/r", "d" * 40)
    assert links_from_env(env, None) is None
    assert links_from_env({**env, "GITHUB_REPOSITORY": "o/r/../x"}, "d" * 40) is None
    assert links_from_env({**env, "GITHUB_SERVER_URL": "javascript:x"}, "d" * 40) is None


def test_many_large_leaves_stay_under_the_limit_saying_what_was_cut() -> None:
    big = "word " * 5000
    leaves = [_leaf(i, text=big) for i in range(60)]
    md = render(_report(leaves), LINKS)
    assert mdsafe.utf16_len(md) <= mdsafe.COMMENT_BUDGET
    assert "sections are not shown" in md
    assert "more characters cut" in md
    out = commonmark(md)
    assert out.tags.count("details") == out.tags.count("/details")


def test_no_changed_leaves_says_so() -> None:
    md = render(_report([]))
    assert "No taxonomy leaves changed." in md


def test_json_round_trip_and_rejection_of_foreign_shapes() -> None:
    report = _report([_leaf(1)])
    assert load_report(report.model_dump_json(), "p.json") == report
    data = json.loads(report.model_dump_json())
    data["leaves"][0]["html"] = "<b>"
    with pytest.raises(UsageError, match=r"p\.json: not a seedtree preview"):
        load_report(json.dumps(data), "p.json")
    with pytest.raises(UsageError, match="not a seedtree preview"):
        load_report("[1, 2]", "p.json")
    data = json.loads(report.model_dump_json())
    data["version"] = 99
    with pytest.raises(UsageError, match="version 99"):
        load_report(json.dumps(data), "p.json")
