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
