"""After submission: read-only for applicants, the receipt with the PDF of what was
submitted (Chinese names included), individual extensions granted by staff."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from cfp.calls.models import CallState
from cfp.core.audit import AuditEntry
from cfp.core.errors import DomainError
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.proposals.operations import confirm_proposal, grant_extension, submit_proposal
from tests import factories as f
from tests import pdftools


@pytest.fixture
def ready(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei", name_original="李伟")
    pi_be = f.user(Role.researcher, agency=be, name="Anne Dupont")
    proposal = f.proposal(call, pi_cn, pi_be)
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    db.session.commit()
    return call, proposal, pi_cn, pi_be, cn


def test_the_receipt_links_to_the_pdf_of_what_was_submitted(ready, client):
    _call, proposal, pi_cn, _pi_be, cn = ready
    f.login(client, pi_cn)
    assert client.post(f"/proposals/{proposal.id}/submit").status_code == 302
    db.session.refresh(proposal)
    receipts = db.session.scalars(sa.select(OutboxMessage).filter_by(template="submission_receipt")).all()
    assert len(receipts) == 2
    for receipt in receipts:
        assert proposal.reference in receipt.body
        link = re.search(r"http://localhost(/proposals/\d+/submitted\.pdf)", receipt.body).group(1)
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    data = response.data
    response.close()
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert proposal.reference in text and "Perovskite solar cells" in text
    # The PI's name in Chinese is set in a font embedded in the file.
    other_fonts = pdftools.non_standard_fonts(data)
    assert other_fonts and all(other_fonts.values()), other_fonts
    stranger = f.user(Role.researcher, agency=cn)
    db.session.commit()
    client.post("/logout")
    f.login(client, stranger)
    assert client.get(link).status_code == 404


def test_after_submission_every_editor_route_refuses_the_applicants(ready, client):
    _call, proposal, pi_cn, _pi_be, cn = ready
    submit_proposal(pi_cn, proposal)
    doc = f.document(proposal, cn, "CV", pi_cn)
    db.session.commit()
    f.login(client, pi_cn)
    base = f"/proposals/{proposal.id}"
    assert client.get(f"{base}/edit").status_code == 403
    assert client.post(f"{base}/edit", data={"version": proposal.version, "title": "Changed"}).status_code == 403
    assert client.post(f"{base}/documents/{cn.id}", data={"kind": "CV"}).status_code == 403
    assert client.post(f"{base}/documents/file/{doc.id}/delete").status_code == 403
    client.post(f"{base}/confirm", data={"version": proposal.version, "agree": "y"})
    db.session.refresh(proposal)
    assert proposal.title == "Perovskite solar cells" and proposal.state == ProposalState.submitted


def test_staff_grant_an_extension_with_a_reason_and_submission_honours_it(ready, client):
    call, proposal, pi_cn, _pi_be, cn = ready
    staff = f.user(Role.staff, agency=cn, timezone="UTC")
    db.session.commit()
    f.login(client, staff)
    assert proposal.title in client.get("/proposals/extensions").data.decode()
    until = (call.closes_at + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/proposals/{proposal.id}/extension",
                           data={"until": until, "reason": "PI in hospital"})
    assert response.status_code == 302
    db.session.refresh(proposal)
    assert proposal.closes_at > call.closes_at
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="proposal.extend_deadline"))
    assert entry.actor_id == staff.id and entry.after["reason"] == "PI in hospital"
    # The call closes (beat task); this proposal may still be submitted until its own instant.
    call.state = CallState.closed
    db.session.commit()
    with pytest.raises(DomainError):
        submit_proposal(pi_cn, proposal, now=proposal.closes_at + timedelta(seconds=1))
    submit_proposal(pi_cn, proposal, now=call.closes_at + timedelta(days=1))
    assert proposal.state == ProposalState.submitted


def test_an_extension_needs_a_reason_and_a_later_instant_and_staff(ready):
    call, proposal, pi_cn, _pi_be, cn = ready
    staff = f.user(Role.staff, agency=cn)
    with pytest.raises(DomainError):
        grant_extension(staff, proposal, call.closes_at + timedelta(days=1), "  ")
    with pytest.raises(DomainError):
        grant_extension(staff, proposal, call.closes_at - timedelta(days=1), "late")
    with pytest.raises(DomainError):
        grant_extension(pi_cn, proposal, call.closes_at + timedelta(days=1), "I want more time")
    assert proposal.deadline_extended_to is None
    assert utcnow() < proposal.closes_at


@pytest.mark.parametrize("state, allowed", [
    (ProposalState.submitted, True), (ProposalState.in_review, True),
    (ProposalState.recommended, True), (ProposalState.funded, False), (ProposalState.rejected, False),
])
def test_withdrawal_is_allowed_until_the_list_is_adopted(app, client, state, allowed):
    cn, be, committee = f.world()
    call = f.call(committee)
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be, state=state)
    db.session.commit()
    f.login(client, pi_be)
    response = client.post(f"/proposals/{proposal.id}/withdraw", data={"reason": "Moving abroad"})
    assert response.status_code == (302 if allowed else 403)
    db.session.refresh(proposal)
    assert (proposal.state == ProposalState.withdrawn) == allowed
    notices = db.session.scalars(sa.select(OutboxMessage).filter_by(template="proposal_withdrawn")).all()
    assert [m.recipient for m in notices] == ([pi_cn.email] if allowed else [])


def test_budget_and_trips_beyond_the_projects_years_are_listed(ready):
    from decimal import Decimal

    from cfp.proposals.models import BudgetLine, MobilityTrip
    from cfp.proposals.operations import missing_for_submission

    _call, proposal, _pi_cn, _pi_be, cn = ready
    proposal.budget_lines.append(BudgetLine(agency_id=cn.id, year=3, category="personnel", amount=Decimal(10)))
    proposal.trips.append(MobilityTrip(from_agency_id=cn.id, to_agency_id=proposal.sides[1].agency_id,
                                       traveller="Li Wei", days=5, year=4))
    db.session.flush()
    missing = [str(m) for m in missing_for_submission(proposal)]
    assert "budget line “personnel” in year 3 within the project's 2 years" in missing
    assert "trip of Li Wei in year 4 within the project's 2 years" in missing
