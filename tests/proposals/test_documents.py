"""Documents per side: PDF only by content, size and page limits, stored outside the
web root under a generated name, downloaded only by those who may see the proposal."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from tests import factories as f

KIND = "CV of the PI"


@pytest.fixture
def draft(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    for side in call.sides:
        side.required_documents = [KIND]
    call.side(cn).max_document_pages = 3
    call.side(cn).max_document_bytes = 20_000
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be)
    db.session.commit()
    return proposal, cn, be, pi_cn, pi_be


def upload(client, proposal, agency, data: bytes, name="cv.pdf", kind=KIND):
    return client.post(f"/proposals/{proposal.id}/documents/{agency.id}",
                       data={"kind": kind, "file": (io.BytesIO(data), name)}, follow_redirects=True)


def test_a_pdf_is_stored_under_a_generated_name_and_downloaded_with_its_own(app, draft, client):
    proposal, cn, _, pi_cn, _ = draft
    f.login(client, pi_cn)
    data = f.pdf_bytes(2)
    page = upload(client, proposal, cn, data, name="Li Wei CV.pdf").data.decode()
    assert "Uploaded" in page
    db.session.refresh(proposal)
    [doc] = proposal.documents
    assert doc.pages == 2 and doc.size == len(data) and doc.original_name == "Li Wei CV.pdf"
    stored = Path(app.config["UPLOAD_FOLDER"]) / doc.stored_name
    assert stored.read_bytes() == data and "Li Wei" not in doc.stored_name
    assert not str(stored.resolve()).startswith(str(Path(app.static_folder).resolve()))
    assert proposal.version == 2  # a new document is a new version: confirmations reset
    response = client.get(f"/proposals/{proposal.id}/documents/file/{doc.id}")
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/pdf"
    assert "Li Wei CV.pdf" in response.headers["Content-Disposition"]
    response.close()


def test_a_non_pdf_renamed_to_pdf_is_refused(draft, client):
    proposal, cn, _, pi_cn, _ = draft
    f.login(client, pi_cn)
    page = upload(client, proposal, cn, b"PK\x03\x04 a zip file, really", name="cv.pdf").data.decode()
    assert "this file is not a PDF" in page
    page = upload(client, proposal, cn, b"%PDF-1.7 but nothing else", name="cv.pdf").data.decode()
    assert "could not be read" in page
    db.session.refresh(proposal)
    assert proposal.documents == [] and proposal.version == 1


def test_a_file_over_the_calls_limit_is_refused(draft, client):
    proposal, cn, _, pi_cn, _ = draft
    f.login(client, pi_cn)
    data = f.pdf_bytes(1) + b"%" + b"x" * 25_000  # a valid PDF padded past the CN limit of 20 000 bytes
    page = upload(client, proposal, cn, data).data.decode()
    assert "The file is 25 kB; the limit is 20 kB." in page
    db.session.refresh(proposal)
    assert proposal.documents == []


def test_a_file_over_the_sites_limit_gets_a_clear_message(app, draft, client, monkeypatch):
    proposal, cn, _, pi_cn, _ = draft
    f.login(client, pi_cn)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    response = upload(client, proposal, cn, f.pdf_bytes(1) + b"x" * 20_000)
    assert response.status_code == 200
    assert "larger than the" in response.data.decode()
    db.session.refresh(proposal)
    assert proposal.documents == []


def test_too_many_pages_are_refused(draft, client):
    proposal, cn, _, pi_cn, _ = draft
    f.login(client, pi_cn)
    page = upload(client, proposal, cn, f.pdf_bytes(4)).data.decode()
    assert "The document has 4 pages; at most 3 are allowed." in page
    db.session.refresh(proposal)
    assert proposal.documents == []


def test_each_pi_uploads_their_own_sides_documents_and_only_from_the_checklist(draft, client):
    proposal, cn, be, pi_cn, _ = draft
    f.login(client, pi_cn)
    assert "their own side" in upload(client, proposal, be, f.pdf_bytes(1)).data.decode()
    assert "not on the call" in upload(client, proposal, cn, f.pdf_bytes(1), kind="Poem").data.decode()


def test_replace_and_delete_while_draft_then_read_only(app, draft, client):
    proposal, cn, _, pi_cn, _ = draft
    f.login(client, pi_cn)
    upload(client, proposal, cn, f.pdf_bytes(1))
    db.session.refresh(proposal)
    first = proposal.documents[0]
    first_path = Path(app.config["UPLOAD_FOLDER"]) / first.stored_name
    upload(client, proposal, cn, f.pdf_bytes(2), name="cv-v2.pdf")
    db.session.expire_all()
    [doc] = proposal.documents
    assert doc.original_name == "cv-v2.pdf" and doc.pages == 2 and not first_path.exists()
    response = client.post(f"/proposals/{proposal.id}/documents/file/{doc.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert proposal.documents == []
    upload(client, proposal, cn, f.pdf_bytes(1))
    proposal.state = ProposalState.submitted
    db.session.commit()
    [doc] = proposal.documents
    assert upload(client, proposal, cn, f.pdf_bytes(1)).status_code == 403
    assert client.post(f"/proposals/{proposal.id}/documents/file/{doc.id}/delete").status_code == 403


def test_a_stranger_cannot_download(draft, client):
    proposal, cn, _, pi_cn, _ = draft
    doc = f.document(proposal, cn, KIND, pi_cn)
    stranger = f.user(Role.researcher, agency=cn)
    staff = f.user(Role.staff, agency=cn)
    db.session.commit()
    url = f"/proposals/{proposal.id}/documents/file/{doc.id}"
    f.login(client, stranger)
    assert client.get(url).status_code == 404
    client.post("/logout")
    f.login(client, staff)
    assert client.get(url).status_code == 404  # a draft is the applicants' own


def test_a_file_whose_transaction_does_not_commit_is_removed(app, draft):
    """The file is written before the commit (the row must name it); if the transaction
    then rolls back, or the session closes with it open (a request that fails midway),
    nothing refers to the file and it goes. A committed upload keeps its file, also when
    a savepoint inside its transaction rolled back."""
    from cfp.proposals.documents import upload_document

    proposal, cn, _, pi_cn, _ = draft
    folder = Path(app.config["UPLOAD_FOLDER"])

    def upload_now(pages):
        before = set(folder.iterdir()) if folder.exists() else set()
        upload_document(pi_cn, db.session.get(type(proposal), proposal.id), cn.id, KIND, "cv.pdf", f.pdf_bytes(pages))
        [written] = set(folder.iterdir()) - before
        return written

    written = upload_now(1)
    db.session.rollback()
    assert not written.exists()
    written = upload_now(1)
    db.session.close()
    assert not written.exists()
    written = upload_now(2)
    with db.session.begin_nested() as savepoint:
        savepoint.rollback()
    db.session.commit()
    assert written.exists()
    db.session.rollback()  # a later transaction's end leaves the committed file alone
    assert written.exists()
