"""The anonymous visitor: from the home page to the open call, the adopted projects and
the registration form, on a phone as well (they are tomorrow's applicants)."""
from __future__ import annotations

from playwright.sync_api import expect


def test_a_visitor_finds_the_open_call_and_the_adopted_projects(page, journey):
    j = journey("visitor", phone_pages=True)
    page.goto("/")
    j.check()
    page.get_by_role("link", name="Calls", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Calls")
    j.check()
    page.get_by_role("link", name="CN-BE-2023").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2023")
    j.check()
    page.get_by_role("link", name="Adopted projects").first.click()
    j.check()
    page.get_by_role("link", name="Register").first.click()
    expect(page.get_by_label("Email")).to_be_visible()
    j.check()
    j.finish()
