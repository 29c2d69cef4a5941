"""WBI's staff: record their side's eligibility of BIOCHARS (CN-BE-2023-002, which MOST
found eligible already), which makes it eligible; then run the automatic assignment of
WBI's reviewers to the call's eligible proposals (the worker computes it; the progress bar
reaches 100 %) and approve it, which invites the reviewers.

Only this journey records eligibility or assigns reviewers under CN-BE-2023, and only on
the Belgian side: the reviewer's journey is the Chinese reviewer's on CN-BE-2022.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, say_yes_to_the_next_question


def test_staff_record_eligibility_run_the_automatic_assignment_and_approve_it(page, journey):
    j = journey("staff")
    page.goto("/")
    log_in(page, "staff.wbi@example.org")
    j.check()
    page.get_by_role("link", name="Eligibility checks to record for your side").click()
    j.check()
    page.get_by_role("link", name="Soil carbon sequestration with biochar in cereal rotations").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BIOCHARS")
    j.check()

    # Each automatic rule's result is confirmed first (the page says so otherwise).
    rules = page.locator("form[action*='/rules/']")
    for index in range(rules.count()):
        row = page.get_by_role("row").filter(has=page.locator(f"form[action$='/rules/{index}']"))
        row.get_by_role("button", name="Record").click()
        expect(page.get_by_role("row").filter(has=page.locator(f"form[action$='/rules/{index}']"))
               ).to_contain_text("confirmed: passes")
    j.check()
    eligibility = page.locator("form").filter(has=page.get_by_label("Decision"))
    eligibility.get_by_label("Decision").select_option(label="eligible")
    eligibility.get_by_role("button", name="Record").click()
    expect(page.get_by_text("Eligibility recorded for CN-BE-2023-002.")).to_be_visible()
    j.check()

    page.get_by_role("link", name="Reviewers of my side").click()
    j.check()
    page.get_by_role("link", name="Automatic assignment for every proposal of the call").click()
    j.check()
    shown: list[int] = []  # what the progress bar is told, poll after poll

    def _progress(route):
        response = route.fetch()
        if "json" in response.headers.get("content-type", ""):
            shown.append(response.json()["progress"])
        route.fulfill(response=response)

    page.route(re.compile(r"/automatic/jobs/\d+/progress$"), _progress)
    page.get_by_role("button", name="Compute an optimal assignment").click()
    expect(page.get_by_role("heading", name="Approve")).to_be_visible(timeout=90_000)
    page.unroute(re.compile(r"/automatic/jobs/\d+/progress$"))
    assert shown and shown[-1] == 100 and shown == sorted(shown), shown
    expect(page.locator("main table").first).to_contain_text("CN-BE-2023-002")
    j.check()

    questions = say_yes_to_the_next_question(page)
    page.get_by_role("button", name="Approve and send the invitations").click()
    expect(page.get_by_text(re.compile("invit", re.IGNORECASE)).first).to_be_visible()
    assert re.match(r"Invite \d+ reviewers? now\?", questions[0]), questions
    j.check()
    j.finish()
