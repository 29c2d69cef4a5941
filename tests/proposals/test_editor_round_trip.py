"""The editor never changes what the user did not touch: on every editable proposal of the
demo, each PI opens the editor and saves it back exactly as the page was rendered (as a
browser sends it), and the proposal is identical afterwards, at the same version."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.demo import DEMO_PASSWORD, seed_demo
from cfp.extensions import db
from cfp.proposals.content import snapshot
from cfp.proposals.models import Proposal
from tests.proposals.browser import form_data


def test_every_editor_form_of_the_demo_saved_untouched_leaves_the_proposal_identical(app):
    assert seed_demo() is True
    proposals = db.session.scalars(sa.select(Proposal).order_by(Proposal.id)).all()
    round_trips = []
    for proposal in proposals:
        for side in proposal.sides:
            if side.pi is None or not proposal.can_edit(side.pi):
                continue
            before, version = snapshot(proposal), proposal.version
            client = app.test_client()
            login = client.post("/login", data={"email": side.pi.email, "password": DEMO_PASSWORD})
            assert login.status_code == 302, login.data.decode()[:500]
            page = client.get(f"/proposals/{proposal.id}/edit")
            assert page.status_code == 200
            saved = client.post(f"/proposals/{proposal.id}/edit",
                                data=form_data(page.data.decode(), "proposal-editor"))
            assert saved.status_code == 302, saved.data.decode()[:3000]
            db.session.refresh(proposal)
            assert snapshot(proposal) == before, (proposal.acronym, side.pi.email)
            assert proposal.version == version, (proposal.acronym, side.pi.email)
            round_trips.append((proposal.acronym, side.agency.code))
    # The open call's drafts: HEATWISE (both PIs), DUSTNET and the others started by one PI.
    assert {("HEATWISE", "CN"), ("HEATWISE", "BE"), ("DUSTNET", "CN")} <= set(round_trips)


def test_an_abstract_in_paragraphs_saved_untouched_stays_the_same(app, client):
    """A browser sends a textarea's line breaks as CR LF, whatever was stored."""
    from cfp.core.roles import Role
    from tests import factories as f

    cn, be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn)
    proposal = f.proposal(f.call(committee), pi, f.user(Role.researcher, agency=be), amounts=("0", "0"))
    proposal.abstract = "Perovskites degrade in heat.\n\nWe study why,\nand how to stop it."
    db.session.commit()
    before = snapshot(proposal)
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    data = form_data(page, "proposal-editor")
    assert "\r\n\r\nWe study why,\r\n" in data["abstract"]
    assert client.post(f"/proposals/{proposal.id}/edit", data=data).status_code == 302
    db.session.refresh(proposal)
    assert snapshot(proposal) == before and proposal.version == 1
    # A change typed in the browser is stored with the line breaks it had before.
    data["abstract"] = data["abstract"].replace("stop it", "prevent it")
    assert client.post(f"/proposals/{proposal.id}/edit", data=data).status_code == 302
    db.session.refresh(proposal)
    assert proposal.abstract == "Perovskites degrade in heat.\n\nWe study why,\nand how to prevent it."
