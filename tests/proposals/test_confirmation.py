"""Both PIs confirm the current version: the page names who has not, and a PI whose
confirmation a change of the partner voids is told by email."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.documents import upload_document
from cfp.proposals.operations import confirm_proposal, missing_for_submission
from tests import factories as f
from tests.i18n.translations import translation
from tests.proposals.browser import form_data


@pytest.fixture
def draft(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    call.side(cn).required_documents = ["CV"]
    pi_cn = f.user(Role.researcher, agency=cn, name="Chen Yu")
    pi_be = f.user(Role.researcher, agency=be, name="Sophie Lambert", locale="fr")
    proposal = f.proposal(call, pi_cn, pi_be)
    db.session.commit()
    return proposal, pi_cn, pi_be


def _voided_mail():
    return db.session.scalars(sa.select(OutboxMessage).filter_by(template="confirmation_voided")).all()


def test_the_page_names_the_pi_whose_confirmation_is_missing(draft, client):
    proposal, pi_cn, _pi_be = draft
    missing = [str(m) for m in missing_for_submission(proposal)]
    assert "the confirmation of version 1 by Chen Yu (MOST)" in missing
    assert "the confirmation of version 1 by Sophie Lambert (WBI)" in missing
    confirm_proposal(pi_cn, proposal, 1)
    db.session.commit()
    missing = [str(m) for m in missing_for_submission(proposal)]
    assert "the confirmation of version 1 by Sophie Lambert (WBI)" in missing
    assert not any("Chen Yu" in m or "both PIs" in m for m in missing), missing
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "Waiting for Sophie Lambert (WBI) to confirm version 1." in page
    assert "both PIs' confirmation" not in page


def test_a_save_of_the_partner_voids_a_confirmation_and_tells_its_pi(draft, client):
    proposal, pi_cn, pi_be = draft
    confirm_proposal(pi_cn, proposal, 1)
    db.session.commit()
    f.login(client, pi_be)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    data = form_data(page, "proposal-editor")
    data["acronym"] = "PSC2"
    page = client.post(f"/proposals/{proposal.id}/edit", data=data, follow_redirects=True).data.decode()
    # The page is in the language of Sophie Lambert, who saved.
    said = translation("fr", "%(names)s had confirmed version %(old)s: that confirmation no longer counts, and "
                             "we emailed them to confirm version %(v)s.") % {"names": "Chen Yu", "old": 1, "v": 2}
    assert said in page
    [mail] = _voided_mail()
    assert mail.recipient_user_id == pi_cn.id and mail.language == "en"
    assert "Sophie Lambert" in mail.body and "version 1" in mail.body and "version 2" in mail.body
    assert f"/proposals/{proposal.id}" in mail.body
    assert "Perovskite solar cells" in mail.subject
    # The PI who saved is not told of their own change; a save that changes nothing tells nobody.
    data = form_data(client.get(f"/proposals/{proposal.id}/edit").data.decode(), "proposal-editor")
    assert client.post(f"/proposals/{proposal.id}/edit", data=data).status_code == 302
    assert len(_voided_mail()) == 1


def test_a_document_uploaded_by_the_partner_voids_the_confirmation_too(draft):
    proposal, pi_cn, pi_be = draft
    confirm_proposal(pi_be, proposal, 1)
    upload_document(pi_cn, proposal, pi_cn.agency_id, "CV", "cv.pdf", f.pdf_bytes())
    [mail] = _voided_mail()
    assert mail.recipient_user_id == pi_be.id and mail.language == "fr"
    assert "Chen Yu" in mail.body


def test_nobody_is_told_when_no_confirmation_is_voided(draft):
    proposal, pi_cn, _pi_be = draft
    confirm_proposal(pi_cn, proposal, 1)
    upload_document(pi_cn, proposal, pi_cn.agency_id, "CV", "cv.pdf", f.pdf_bytes())  # only their own
    assert _voided_mail() == []
