"""The applicants' irreversible actions ask first, saying what will happen (data-confirm,
answered by cfp.js: the Content-Security-Policy runs no inline handler)."""
from __future__ import annotations

import html
import re

from cfp.calls.models import Stages
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from tests import factories as f


def _question(page: str, action: str) -> str:
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>', page)
    assert form, action
    question = re.search(r'data-confirm="([^"]*)"', form.group(0))
    assert question, form.group(0)
    return html.unescape(question.group(1))


def test_submitting_and_withdrawing_ask_first_saying_what_will_happen(app, client):
    cn, be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn)
    partner = f.user(Role.researcher, agency=be, name="Sophie Lambert")
    proposal = f.proposal(f.call(committee), pi, partner)
    db.session.commit()
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    submit = _question(page, f"/proposals/{proposal.id}/submit")
    assert "version 1" in submit and "can no longer be changed" in submit and "receipt" in submit
    withdraw = _question(page, f"/proposals/{proposal.id}/withdraw")
    assert "cannot be undone" in withdraw and "Sophie Lambert" in withdraw


def test_submitting_a_pre_proposal_says_the_consortium_is_frozen(app, client):
    cn, be, committee = f.world()
    call = f.call(committee)
    call.stages = Stages.two
    pi = f.user(Role.researcher, agency=cn)
    proposal = f.proposal(call, pi, f.user(Role.researcher, agency=be), state=ProposalState.pre_proposal)
    db.session.commit()
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "consortium" in _question(page, f"/proposals/{proposal.id}/submit")
