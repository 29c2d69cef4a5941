"""The Joint Committee's journey on CN-BE-2022 (in selection, with a joint ranking and a
draft list): the secretariat opens the joint ranking (filters it, sorts it), plans the
funding down it, proposes the plan and tables it under a decision by written procedure (the
demo's 6th meeting is only tentative: a decision at it cannot be adopted yet); both
co-chairs approve the decision online, which adopts the list; the secretariat releases the
decision letters.

Order-independent with the other journeys: the plan funds only proposals fully reviewed by
both sides, so REECYCLE (CN-BE-2022-001, the reviewer's journey) stays in review and keeps
its open review; CN-BE-2023 (the applicants' and staff's) is untouched; the public list of
adopted projects only gains rows.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, say_yes_to_the_next_question


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()


def test_the_secretariat_tables_the_list_the_cochairs_adopt_it_and_the_letters_go(page, journey):
    j = journey("committee")
    page.goto("/")
    log_in(page, "secretariat@example.org")
    j.check()
    page.get_by_role("link", name="Joint ranking", exact=True).first.click()
    j.check()
    page.get_by_role("link", name="CN-BE-2022").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("CN-BE-2022")
    j.check()

    # The filter bar: the two vetoed proposals; then sorted by the combined score.
    ranking = page.locator("#joint-ranking tbody tr")
    page.get_by_label("Passes both sides").select_option(label="no")
    page.get_by_role("button", name="Filter").click()
    expect(ranking).to_have_count(2)
    expect(ranking.first).to_contain_text("veto")
    j.check()
    page.get_by_role("link", name="Show all").click()
    j.check()
    page.get_by_role("link", name=re.compile("^Combined")).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    expect(ranking.first.locator("td.place")).to_have_text("10")  # the lowest combined score first
    j.check()
    page.get_by_role("link", name=re.compile("^Combined")).click()
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    expect(ranking.first.locator("td.place")).to_have_text("1")
    j.check()
    # Each outcome control is whole and named after its proposal.
    outcome = page.get_by_label("Outcome of CN-BE-2022-006")
    expect(outcome).to_be_visible()
    box = outcome.bounding_box()
    assert box and box["x"] + box["width"] <= page.viewport_size["width"], box

    page.get_by_role("button", name="Plan the funding down the joint ranking").click()
    expect(page.get_by_text("The funding plan is drafted as version")).to_be_visible()
    expect(page.locator("#plan-reasons")).to_contain_text("CN-BE-2022-001")
    j.check()
    proposing = say_yes_to_the_next_question(page)
    page.get_by_role("button", name="Propose this list").click()
    expect(page.get_by_text("The list is proposed")).to_be_visible()
    assert proposing, "proposing asks first"
    j.check()

    # The page says where to table it; the 6th meeting is tentative: a written procedure.
    page.locator("#table-it").get_by_role("link", name=re.compile("written procedure")).click()
    j.check()
    written = page.locator("form[action$='/decisions/written']")
    written.get_by_label("Kind").select_option(label="adopt project list")
    written.get_by_label("Title").fill("Adopt the list of personnel exchange projects 2022")
    written.get_by_role("button", name="Draft a decision by written procedure").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Decision WP-")
    number = page.get_by_role("heading", level=1).inner_text().split()[1]
    j.check()
    page.get_by_role("button", name="Table this list").click()
    expect(page.get_by_text(f"The project list is tabled under decision {number}.")).to_be_visible()
    j.check()
    _log_out(page)

    # Both co-chairs approve it online, from their To do.
    for cochair, said in (("zhao.jing@example.org", "Your approval is recorded."),
                          ("christian.carette@example.org", f"decision {number} is adopted")):
        log_in(page, cochair)
        page.get_by_role("link", name="Decisions waiting for your approval").click()
        j.check()
        page.get_by_role("link", name=f"Decision {number}").click()
        approving = say_yes_to_the_next_question(page)
        page.get_by_role("button", name="Approve as co-chair").click()
        expect(page.get_by_text(said)).to_be_visible()
        assert approving, "approving asks first"
        j.check()
        _log_out(page)

    # The secretariat releases the letters.
    log_in(page, "secretariat@example.org")
    page.get_by_role("link", name="Decision letters to release").click()
    page.get_by_role("link", name=f"Decision {number}").click()
    expect(page.get_by_text("Projects adopted by this decision")).to_be_visible()
    releasing = say_yes_to_the_next_question(page)
    page.get_by_role("button", name=re.compile(r"Release the \d+ decision letters")).click()
    expect(page.get_by_text(re.compile(r"\d+ letters released"))).to_be_visible()
    assert releasing and "cannot be called back" in releasing[0]
    page.get_by_role("link", name="Decision letters").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("letters")
    j.check()
    j.finish()
