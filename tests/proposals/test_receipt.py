"""The PDF of a submitted proposal as its PIs read it (pdftotext): amounts in each side's
currency with separators, the budget's categories by their labels (not the stored codes)
with totals per year and side, and a typical proposal (the demo's) on one page."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import force_locale

from cfp.demo import seed_demo
from cfp.extensions import db
from cfp.proposals.content import snapshot
from cfp.proposals.models import Proposal
from cfp.proposals.receipt import submitted_pdf
from tests import pdftools


def _demo_proposal(reference: str) -> Proposal:
    seed_demo()
    return db.session.scalar(sa.select(Proposal).filter_by(reference=reference))


def test_the_receipt_shows_amounts_in_currency_and_labels_on_one_page(app):
    proposal = _demo_proposal("CN-BE-2021-002")
    with app.test_request_context():
        text = pdftools.text(submitted_pdf(proposal, snapshot(proposal), "Europe/Brussels"))
    flat = " ".join(text.split())
    assert text.count("\f") <= 1 and "Page 1 of 1" in flat  # one page, nothing spilled over
    assert "Requested from WBI €19,500.00" in flat and "CN¥380,000.00" in flat
    assert "Budget of WBI" in flat and "(EUR)" in flat and "Budget of MOST" in flat and "(CNY)" in flat
    assert re.search(r"other travel\s+€2,257\.50\s+€2,257\.50\s+€4,515\.00", flat)
    assert re.search(r"Total\s+€6,450\.00\s+€6,450\.00\s+€12,900\.00", flat)
    assert not re.search(r"\btravel:|\b\d{4,}\.\d{2}\b", flat)  # no stored code, no bare amount


def test_the_receipt_writes_amounts_as_the_readers_language_does(app):
    proposal = _demo_proposal("CN-BE-2021-002")
    with app.test_request_context(), force_locale("fr"):
        flat = " ".join(pdftools.text(submitted_pdf(proposal, snapshot(proposal), "Europe/Brussels")).split())
    assert "19 500,00 €" in flat.replace("\u202f", " ").replace("\u00a0", " ")
