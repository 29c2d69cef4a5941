"""The Chinese reviewer of the demo: answers the pending invitation on CN-BE-2022-001
(REECYCLE), declares no conflict, reads a document, scores and submits; on a phone too.

REECYCLE stays in review after this (the Belgian reviewer's review is still due), so the
committee's journey on CN-BE-2022 never depends on this one; no other journey touches
this assignment.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, say_yes_to_the_next_question


def test_a_reviewer_accepts_declares_no_conflict_scores_and_submits(page, journey):
    j = journey("reviewer", phone_pages=True)
    page.goto("/")
    log_in(page, "reviewer.cn@example.org")
    j.check()
    page.get_by_role("link", name="Review invitations to answer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My reviews")
    j.check()
    page.get_by_role("row").filter(has_text="CN-BE-2022-001").get_by_role("link", name="Open").click()
    expect(page.get_by_text("Recovery of rare-earth elements")).to_be_visible()
    j.check()

    page.get_by_role("button", name="Accept").click()
    no_conflict = page.get_by_label(re.compile("I have no conflict of interest"))
    no_conflict.check()  # an explicit choice: neither is preselected
    j.check()
    declaring = say_yes_to_the_next_question(page)
    page.get_by_role("button", name="Declare").click()
    expect(page.get_by_text("Declaration recorded")).to_be_visible()
    assert "It cannot be changed" in declaring[0]

    # The whole proposal now, its documents included.
    with page.expect_download() as download:
        page.locator("main a[href*='/documents/']").first.click()
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    j.check()

    for field in page.locator(".criterion").locator("select, input").all():
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(index=field.locator("option").count() - 2)
        else:
            field.fill("4")
    recommendation = page.get_by_label(re.compile("Recommendation"))
    if recommendation.evaluate("e => e.tagName") == "SELECT":
        recommendation.select_option(index=1)
    page.get_by_label(re.compile("Comments to the applicants")).fill(
        "A well-matched pair of teams; the plan of stays is realistic.")
    j.check()
    questions = say_yes_to_the_next_question(page)
    page.get_by_role("button", name="Submit the review").click()
    expect(page.get_by_text(re.compile("review submitted", re.IGNORECASE)).first).to_be_visible()
    assert questions, "submitting asks first"
    j.check()
    j.finish()
