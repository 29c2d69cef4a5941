"""Version history: every saved state is a snapshot (content, team, mobility, budget,
documents); the history page lists them and compares any two."""
from __future__ import annotations

import io

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.content import snapshot
from cfp.proposals.models import ProposalVersion
from tests import factories as f
from tests.proposals.test_editor import editor_data


def test_history_lists_versions_and_compares_two_field_by_field(app, client):
    cn, be, committee = f.world()
    call = f.call(committee)
    call.side(cn).required_documents = ["CV"]
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei")
    pi_be = f.user(Role.researcher, agency=be, name="Anne Dupont")
    proposal = f.proposal(call, pi_cn, pi_be)
    db.session.add(ProposalVersion(proposal_id=proposal.id, version=1, snapshot=snapshot(proposal),
                                   created_by_id=pi_cn.id))  # as start_proposal does
    db.session.commit()
    f.login(client, pi_cn)
    data = editor_data(proposal, cn, be, abstract="We study perovskite tandem cells on silicon.")
    assert client.post(f"/proposals/{proposal.id}/edit", data=data).status_code == 302
    client.post(f"/proposals/{proposal.id}/documents/{cn.id}",
                data={"kind": "CV", "file": (io.BytesIO(f.pdf_bytes(1)), "cv.pdf")})
    db.session.refresh(proposal)
    assert proposal.version == 3
    page = client.get(f"/proposals/{proposal.id}/history").data.decode()
    assert page.count("Li Wei") >= 2
    page = client.get(f"/proposals/{proposal.id}/history?a=1&b=3").data.decode()
    assert "<del" in page and "<ins" in page and "tandem cells on silicon." in page  # abstract, word by word
    assert "Wang Fang" in page and "Anne Dupont" in page  # members and trips
    assert "CV: cv.pdf" in page  # documents
    assert client.get(f"/proposals/{proposal.id}/history?a=1&b=9").status_code == 404
