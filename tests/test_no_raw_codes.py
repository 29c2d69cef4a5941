"""No page shows a stored code where a person reads: every demo account walks its pages
from the home page and no visible text holds a state, kind or recommendation code such as
"in_review" or "not_recommended" (codes may stay in attributes, URLs and scripts). The audit
log is left out: it shows the values a change stored, as they were stored."""
from __future__ import annotations

import html
import re

import pytest

from cfp.core.states import StateEnum
from cfp.demo import DEMO_PASSWORD, demo_accounts, seed_demo
from tests.test_links import _walk

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


@pytest.mark.once  # about 2 minutes; what a page shows does not depend on the database
def test_no_demo_page_shows_a_stored_code(client):
    seed_demo()
    codes = _codes()
    assert {"in_review", "not_recommended", "fund_if_possible"} <= codes
    word = re.compile(r"\b(" + "|".join(sorted(codes, key=len, reverse=True)) + r")\b")
    shown = []
    for _who, email in demo_accounts():
        client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        pages: dict[str, str] = {}
        _walk(client, "/", pages, max_pages=250)
        assert len(pages) > 3, email
        for url, page in pages.items():
            if url.startswith(RECORDS):
                continue
            for match in {m.group(1) for m in word.finditer(visible_text(page))}:
                shown.append(f"{email}: {match!r} on {url}")
        assert client.post("/logout").status_code == 302
    assert not shown, "\n".join(sorted(shown))
