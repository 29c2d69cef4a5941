"""No page shows a stored code where a person reads: every demo account walks its pages
from the home page (the walk is tests/test_demo.py's) and no visible text holds a state, kind or recommendation code such as
"in_review" or "not_recommended" (codes may stay in attributes, URLs and scripts). The audit
log is left out: it shows the values a change stored, as they were stored."""
from __future__ import annotations

import html
import re

from cfp.core.states import StateEnum

HIDDEN = re.compile(r"<(script|style|svg:metadata)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
TAG = re.compile(r"<[^>]*>")
RECORDS = ("/audit",)


def _codes() -> set[str]:
    """The codes a person would not take for a word: those with an underscore."""
    found, todo = set(), list(StateEnum.__subclasses__())
    while todo:
        kind = todo.pop()
        todo += kind.__subclasses__()
        found |= {m.value for m in kind if "_" in m.value}
    return found


def visible_text(page: str) -> str:
    return html.unescape(TAG.sub(" ", HIDDEN.sub(" ", page)))


def test_visible_text_drops_attributes_and_scripts():
    page = '<a href="/x?state=in_review" class="state-in_review">In review</a><script>var s="do_not_fund"</script>'
    assert "in_review" not in visible_text(page) and "do_not_fund" not in visible_text(page)
    assert "not_recommended" in visible_text("<td>not_recommended</td>")


def codes_shown(pages: dict[str, str]) -> list[tuple[str, str]]:
    """(url, code) for each stored code a page of `pages` ({url: html}) shows in its text
    (the demo walk in tests/test_demo.py reads every page of every demo account)."""
    codes = _codes()
    word = re.compile(r"\b(" + "|".join(sorted(codes, key=len, reverse=True)) + r")\b")
    return [(url, match) for url, page in pages.items() if not url.startswith(RECORDS)
            for match in sorted({m.group(1) for m in word.finditer(visible_text(page))})]


def test_the_codes_are_those_of_the_state_enums_and_a_page_showing_one_is_named():
    assert {"in_review", "not_recommended", "fund_if_possible"} <= _codes()
    pages = {"/a": "<p>In review</p>", "/b": "<td>not_recommended</td>", "/audit": "<td>in_review</td>"}
    assert codes_shown(pages) == [("/b", "not_recommended")]
