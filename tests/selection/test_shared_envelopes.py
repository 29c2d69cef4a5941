"""Envelopes shared across calls: a side's envelope for a budget (calendar) year is shared
by the committee's calls whose projects run in that year; every check counts what the
adopted lists of all those calls already committed to it."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cfp.core.errors import DomainError
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.selection.funding import draft_project_list, plan_funding, propose_project_list
from cfp.selection.models import EntryKind
from cfp.selection.ranking import set_outcome
from cfp.selection.shared import set_first_budget_year, set_shared_envelopes, shared_use
from tests import factories as f
from tests.selection.test_committee import ranked
from tests.selection.test_second_round import meeting_decision


def test_a_call_is_checked_against_what_another_call_committed_to_a_shared_budget_year(client):
    cn, be, committee = f.world()
    secretariat = f.user(Role.secretariat)
    first = f.call(committee, state=f.CallState.in_selection, reference="CN-BE-2030")
    second = f.call(committee, state=f.CallState.in_selection, reference="CN-BE-2031")
    set_first_budget_year(secretariat, first, 2031)   # its projects run 2031-2032
    set_first_budget_year(secretariat, second, 2032)  # 2032-2033
    set_shared_envelopes(secretariat, committee, {(cn.id, 2032): Decimal(250000)})

    a = ranked(first, cn, be, "A", "4.9", "4.9", amounts=("300000", "30000"))  # 150,000 a year
    set_outcome(secretariat, a, ProposalState.recommended)
    from cfp.meetings.operations import attach_project_list, record_adoption_at_meeting

    decision = meeting_decision(secretariat, committee, cn, be, number=5)
    plist = draft_project_list(secretariat, first)
    propose_project_list(secretariat, plist)
    attach_project_list(secretariat, decision, plist)
    record_adoption_at_meeting(secretariat, decision)
    db.session.flush()

    # The second call: its own envelope (1,000,000) would take it, the shared 2032 one not.
    b = ranked(second, cn, be, "B", "4.5", "4.5", amounts=("300000", "30000"))
    c = ranked(second, cn, be, "C", "4.0", "4.0", amounts=("200000", "20000"))
    set_outcome(secretariat, b, ProposalState.recommended)
    listed = draft_project_list(secretariat, second)
    with pytest.raises(DomainError) as refused:
        propose_project_list(secretariat, listed)
    assert "MOST budget year 2032" in refused.value.message
    assert "CN¥150,000.00" in refused.value.message and "CN¥250,000.00" in refused.value.message

    # The plan funds within what the shared year has left (100,000): B (150,000) stops it.
    plan = plan_funding(secretariat, second)
    kinds = {e.proposal_id: e.kind for e in plan.entries}
    assert kinds == {b.id: EntryKind.reserve, c.id: EntryKind.reserve}
    use = {(u.agency_id, u.budget_year): u for u in shared_use(committee)}
    assert use[(cn.id, 2032)].committed == Decimal(150000) and use[(cn.id, 2032)].left == Decimal(100000)

    f.login(client, secretariat)
    page = client.get(f"/selection/calls/{second.id}/envelopes").data.decode()
    assert "Shared by the committee" in page and "2032" in page and "CN¥100,000.00" in page


def test_a_mistyped_envelope_is_refused_and_what_was_typed_is_kept(client):
    cn, be, committee = f.world()
    call = f.call(committee, state=f.CallState.in_selection)
    db.session.commit()
    f.login(client, f.user(Role.secretariat))
    response = client.post(f"/selection/calls/{call.id}/envelopes",
                           data={f"envelope-{cn.id}-1": "12O000", f"envelope-{be.id}-1": "25000"})
    page = response.data.decode()
    assert response.status_code == 422 and "Amounts must be numbers." in page
    assert 'value="12O000"' in page and 'value="25000"' in page
    response = client.post(f"/selection/calls/{call.id}/shared-envelopes",
                           data={"first_budget_year": "twenty31"})
    page = response.data.decode()
    assert response.status_code == 422 and 'value="twenty31"' in page
