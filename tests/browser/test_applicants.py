"""The applicants: a Chinese researcher who registers and writes a joint proposal under the
open call CN-BE-2023, and the Belgian partner she invites, who joins and submits it.

One test, two people in two browsers: the partner can join only once invited, and the
proposal is submitted only once both confirmed. Both register new addresses of their own,
so the run's other journeys never meet this proposal. Phones too: applicants use them.
"""
from __future__ import annotations

import io
import re
import uuid

from playwright.sync_api import expect
from pypdf import PdfWriter

from tests.browser.conftest import follow_mail, log_in, say_yes_to_the_next_question

PASSWORD = "a-long-password-2024"


def _pdf(name: str) -> dict:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return {"name": name, "mimeType": "application/pdf", "buffer": buffer.getvalue()}


def _register_and_verify(j, *, name: str, email: str, side: str, affiliation: str) -> None:
    """Home → Register → the login page it leads to → log in → Mail → the link."""
    page = j.page
    page.goto("/")
    j.check()
    page.get_by_role("link", name="Register").first.click()
    page.get_by_label("Name (Latin script)").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your side").select_option(label=side)
    page.get_by_label("Affiliation").fill(affiliation)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    j.check()
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Follow the link in it to verify your address")).to_be_visible()
    j.check()
    log_in(page, email, PASSWORD)
    j.check()
    follow_mail(page, "Verify your email address for the joint calls")
    expect(page.get_by_text("verified", exact=False).first).to_be_visible()
    j.check()


def _upload_documents(j, side: str) -> None:
    """Every document the call asks of this side, one upload form each."""
    page = j.page
    box = page.locator("#documents + .row > div").filter(has=page.get_by_role("heading", name=side, exact=True))
    uploads = box.get_by_role("button", name="Upload")
    for left in range(uploads.count(), 0, -1):
        form = box.locator("form").filter(has=page.get_by_role("button", name="Upload")).first
        form.locator("input[type=file]").set_input_files(_pdf(f"{side} document.pdf"))
        form.get_by_role("button", name="Upload").click()
        expect(uploads).to_have_count(left - 1)
    expect(box.get_by_text("missing", exact=True)).to_have_count(0)
    j.check()


def _total(page, side: str) -> str:
    return page.locator(f"#side-totals tr.side-total:has(td:text-is('{side}')) td.total").inner_text()


def test_a_researcher_writes_a_joint_proposal_and_the_partner_submits_it(journey):
    researcher = journey("researcher", phone_pages=True)
    partner = journey("partner", phone_pages=True, separate=True)
    run = uuid.uuid4().hex[:8]
    partner_email = f"partner-{run}@ulb.example.be"
    title = f"Sea-level rise and delta cities {run}"

    # The researcher registers, verifies, starts a proposal under the open call.
    page = researcher.page
    _register_and_verify(researcher, name="Li Wei", email=f"li.wei-{run}@fudan.example.cn",
                         side="China — MOST", affiliation="Fudan University")
    page.get_by_role("link", name="Calls", exact=True).first.click()
    researcher.check()
    page.get_by_role("link", name="CN-BE-2023").click()
    researcher.check()
    page.get_by_role("link", name="Start a joint proposal").click()
    page.get_by_label("Title (English)").fill(title)
    page.get_by_label("Acronym").fill(f"DELTA{run[:4]}".upper())
    page.get_by_label("Abstract").fill("Delta cities in China and Belgium face rising seas; we compare "
                                       "their adaptation plans and model the flood risk of both.")
    page.get_by_label("Keywords (comma separated)").fill("sea-level rise, deltas, adaptation")
    page.get_by_label("Priority area").select_option(label="Environment & climate")
    page.get_by_label("The MOST PI holds a PhD").select_option(label="yes")
    researcher.check()

    # Team, trips and budget: rows added with the page's buttons; the totals follow.
    page.get_by_label("Name, row 1").fill("Zhou Min")
    page.get_by_label("Role, row 1").first.select_option(label="researcher")
    page.get_by_label("Career stage, row 1").select_option(label="PhD student")
    page.get_by_label("Affiliation, row 1").fill("Fudan University")
    page.get_by_role("button", name="Add a team member").click()
    members = page.locator("[name$='-name'][name^='members-']")
    expect(members).to_have_count(2)
    page.get_by_label("Side, row 2").first.select_option(label="WBI")
    page.get_by_label("Name, row 2").fill("Emma Piette")
    page.get_by_label("Role, row 2").first.select_option(label="co-investigator")
    page.get_by_label("Career stage, row 2").select_option(label="professor")
    page.get_by_label("Affiliation, row 2").fill("ULB")

    before = _total(page, "MOST")
    page.get_by_label("Traveller, row 1").fill("Chinese PI")
    page.get_by_label("Days, row 1").fill("10")
    page.get_by_label("Project year, row 1").first.fill("1")
    expect(page.locator("#side-totals td.total").first).not_to_have_text(before)
    page.get_by_role("button", name="Add a trip").click()
    page.get_by_label("Direction, row 2").select_option(label="WBI → MOST")
    page.get_by_label("Traveller, row 2").fill("Belgian PI")
    page.get_by_label("Days, row 2").fill("7")
    page.locator("[name='trips-1-year']").fill("2")

    after_trips = _total(page, "MOST")
    page.locator("[name='budget_lines-0-year']").fill("1")
    page.locator("[name='budget_lines-0-category']").select_option(label="consumables")
    page.locator("[name='budget_lines-0-amount']").fill("40000")
    expect(page.locator("#side-totals td.total").first).not_to_have_text(after_trips)
    page.get_by_role("button", name="Add a budget line").click()
    page.locator("[name='budget_lines-1-agency_id']").select_option(label="WBI")
    page.locator("[name='budget_lines-1-year']").fill("1")
    page.locator("[name='budget_lines-1-amount']").fill("8000")
    # Each side: its lines, the travel of its travellers, the stays of the other side's.
    expect(page.locator("#side-totals td.total").first).to_have_text("59,200.00 CNY")  # 40,000 + 15,000 + 7 × 600
    expect(page.locator("#side-totals td.total").nth(1)).to_have_text("10,400.00 EUR")  # 8,000 + 1,200 + 10 × 120
    researcher.check()
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    researcher.check()
    _upload_documents(researcher, "MOST")

    # ... and invites the partner, at a new address.
    page.get_by_label(re.compile("email", re.IGNORECASE)).fill(partner_email)
    page.get_by_role("button", name="Invite the partner PI").click()
    expect(page.get_by_text(f"Sent to {partner_email}")).to_be_visible()
    researcher.check()

    # The partner registers with that address, verifies it, joins from the invitation.
    other = partner.page
    _register_and_verify(partner, name="Marc Dubois", email=partner_email,
                         side="Belgium — WBI", affiliation="ULB")
    follow_mail(other, re.compile("invit", re.IGNORECASE))
    partner.check()
    other.get_by_role("button", name="Join as PI").click()
    expect(other.get_by_role("heading", level=1)).to_contain_text(title)
    partner.check()
    other.get_by_role("link", name="Edit").first.click()
    other.get_by_label("Institution (WBI)").fill("ULB")
    other.get_by_label("Country of the WBI institution").fill("Belgium")
    other.get_by_label("The WBI PI holds a PhD").select_option(label="yes")
    partner.check()
    other.get_by_role("button", name="Save the draft").click()
    expect(other.get_by_role("heading", level=1)).to_contain_text(title)
    _upload_documents(partner, "WBI")

    # Both confirm the current version: the researcher first.
    page.reload()
    page.get_by_label(re.compile("I confirm version")).check()
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_text(re.compile("Waiting for Marc Dubois"))).to_be_visible()
    researcher.check()
    researcher.finish()

    # The partner confirms and submits (asked first), then downloads the receipt.
    other.reload()
    other.get_by_label(re.compile("I confirm version")).check()
    other.get_by_role("button", name="Confirm", exact=True).click()
    expect(other.get_by_text(re.compile("Both PIs confirmed version"))).to_be_visible()
    partner.check()
    questions = say_yes_to_the_next_question(other)
    other.get_by_role("button", name="Submit the proposal").click()
    expect(other.get_by_text(re.compile(r"The reference is CN-BE-2023-\d{3}"))).to_be_visible()
    assert "both PIs receive a receipt" in questions[0]
    partner.check()
    with other.expect_download() as download:
        other.get_by_role("link", name="PDF of what was submitted").click()
    path = download.value.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    partner.finish()
