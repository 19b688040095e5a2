"""formatting.md_escape: user text shows as written in Markdown; our own intervals stay readable."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from dnactx.formatting import md_escape

RENDER = MarkdownIt("commonmark", {"html": False}).enable("table")


@pytest.mark.parametrize("value", ["[x](http://example.com)", "![img](data:image/png;base64,AAAA)", "[a][b]",
                                   "<script>alert(1)</script>", "**bold** _em_ `code`", "a | b", "&lt;"])
def test_markup_in_a_value_renders_as_the_literal_text(value):
    html = RENDER.render(f"name: {md_escape(value)}")
    assert "<a " not in html and "<img" not in html and "<script" not in html and "<strong>" not in html
    assert "<em>" not in html and "<code>" not in html


def test_intervals_and_ordinary_brackets_are_not_escaped():
    assert md_escape("-0.015 [-0.085, +0.122]") == "-0.015 [-0.085, +0.122]"
    assert md_escape("snake_case") == "snake_case"
    assert md_escape("+0.001 [-0.005, +0.008]: within its noise") == "+0.001 [-0.005, +0.008]: within its noise"


@pytest.mark.parametrize("value", ["[x]: http://example.com", "a\n  [x]: http://example.com"])
def test_a_link_definition_in_a_value_stays_text(value):
    html = RENDER.render(f"{md_escape(value)}\n\n[x]\n")
    assert "<a " not in html and "[x]" in html
