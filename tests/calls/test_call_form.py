"""The call form: errors beside the fields, typed values kept, both sides approve."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.calls.models import Call, CallState
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests.test_path import call_form


def test_an_invalid_call_keeps_what_was_typed_and_shows_the_error(client):
    cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=cn)
    db.session.commit()
    f.login(client, staff)
    data = call_form(cn, be, opens=f.utc(2031, 5, 1), closes=f.utc(2031, 4, 1))
    data["title"] = "A title worth keeping"
    response = client.post("/calls/new", data=data)
    page = response.data.decode()
    assert response.status_code == 422
    assert "The call must close after it opens." in page
    assert 'value="A title worth keeping"' in page
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 0


def test_the_drafting_side_cannot_approve_for_the_other(client):
    cn, be, committee = f.world()
    staff_cn = f.user(Role.staff, agency=cn)
    call = f.call(committee, state=CallState.draft)
    call.side(be).approved_at = None
    db.session.commit()
    f.login(client, staff_cn)
    assert client.post(f"/calls/{call.id}/approve").status_code == 403
    db.session.refresh(call)
    assert call.state == CallState.draft


def _staff_of_two_committees():
    """Staff of MOST in the China–Belgium committee (A) and the China–Italy one (B)."""
    from cfp.calls.models import Agency, Agreement, JointCommittee

    cn, _be, committee_a = f.world()
    it = Agency(code="IT", short_name="MUR", name="Ministry of University and Research",
                country="Italy", currency="EUR", timezone="Europe/Rome", locale="en")
    committee_b = JointCommittee(agreement=Agreement(title="China–Italy", agency_a=cn, agency_b=it),
                                 name="China–Italy Joint Committee")
    outside = JointCommittee(agreement=Agreement(title="Belgium–Italy", agency_a=_be, agency_b=it),
                             name="Belgium–Italy Joint Committee")
    db.session.add_all([committee_b, outside])
    db.session.flush()
    staff = f.user(agency=cn, name="Staff of MOST")
    staff.grant(Role.staff, cn, committee_a)
    staff.grant(Role.staff, cn, committee_b)
    db.session.commit()
    return staff, cn, committee_a, committee_b, outside


def test_staff_of_two_committees_choose_the_committee_a_call_is_drafted_for(client):
    staff, cn, committee_a, committee_b, outside = _staff_of_two_committees()
    f.login(client, staff)
    page = client.get("/calls/new").get_data(as_text=True)
    assert 'name="committee_id"' in page
    assert committee_a.name in page and committee_b.name in page and outside.name not in page

    data = call_form(cn, None, opens=f.utc(2031, 4, 1), closes=f.utc(2031, 5, 1))
    # Refused for another reason: the choice of the second committee is kept.
    refused = client.post("/calls/new", data=data | {"committee_id": committee_b.id, "title": ""})
    assert refused.status_code == 422
    kept = refused.get_data(as_text=True)
    assert f'<option selected value="{committee_b.id}">' in kept or \
        f'<option value="{committee_b.id}" selected>' in kept
    assert "MUR" in kept  # its sides are the second committee's
    assert client.post("/calls/new", data=data | {"committee_id": committee_b.id,
                                                  "reference": "CN-IT-2031"}).status_code == 302
    call = db.session.scalar(sa.select(Call).filter_by(reference="CN-IT-2031"))
    assert call.committee_id == committee_b.id and call.drafted_by_agency_id == cn.id
    assert [s.agency.code for s in call.sides] == ["CN", "IT"]


def test_a_committee_the_staff_member_does_not_draft_for_is_refused(client):
    staff, cn, _a, _b, outside = _staff_of_two_committees()
    f.login(client, staff)
    data = call_form(cn, None, opens=f.utc(2031, 4, 1), closes=f.utc(2031, 5, 1))
    assert client.post("/calls/new", data=data | {"committee_id": outside.id}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 0


def test_the_chooser_carries_each_committees_sides_for_the_legends(client):
    import html
    import json
    import re

    staff, _cn, committee_a, committee_b, _outside = _staff_of_two_committees()
    f.login(client, staff)
    page = client.get(f"/calls/new?committee={committee_b.id}").get_data(as_text=True)
    labels = json.loads(html.unescape(re.search(r'data-side-labels="([^"]*)"', page).group(1)))
    assert labels[str(committee_a.id)][1].startswith("WBI") and labels[str(committee_b.id)][1].startswith("MUR")
