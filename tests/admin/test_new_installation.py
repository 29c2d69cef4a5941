"""Issue 13, done when: from an empty database, `cfp init` and the administration pages
alone set up two Joint Committees and their people, and a call runs in each.

The first administrator is what `cfp init` makes (tests/test_installation.py runs the
command itself); everything after goes through the pages, as an operator would."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from cfp.auth.operations import create_admin
from cfp.calls.models import Agency, Call, CallState, JointCommittee
from cfp.core.outbox import OutboxMessage
from cfp.core.types import utcnow
from cfp.extensions import db
from tests.test_path import call_form

PASSWORD = "a long passphrase"
AGENCIES = [
    {"name": "Ministry of Science and Technology", "short_name": "MOST", "code": "CN", "country": "China",
     "currency": "CNY", "timezone": "Asia/Shanghai", "locale": "zh_Hans"},
    {"name": "Wallonia-Brussels International", "short_name": "WBI", "code": "BE", "country": "Belgium",
     "currency": "EUR", "timezone": "Europe/Brussels", "locale": "fr"},
    {"name": "Ministry of University and Research", "short_name": "MUR", "code": "IT", "country": "Italy",
     "currency": "EUR", "timezone": "Europe/Rome", "locale": "en"},
]


def _log_in(client, email):
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


def _join(client, email):
    """The invited person follows the emailed link and chooses a password."""
    message = db.session.scalar(sa.select(OutboxMessage).filter_by(recipient=email, template="account_invitation"))
    path = re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)
    assert client.get(path).status_code == 200
    assert client.post(path, data={"password": PASSWORD, "confirm": PASSWORD}).status_code == 302


def test_an_empty_installation_is_set_up_from_the_pages_and_runs_a_call_in_each_committee(client):
    assert db.session.scalar(sa.select(sa.func.count(Agency.id))) == 0  # empty
    admin, _created = create_admin(email="admin@ministry.example", name="Administrator", password=PASSWORD)
    db.session.commit()
    _log_in(client, admin.email)

    for agency in AGENCIES:
        response = client.post("/admin/agencies/new", data=agency)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    ids = {a.short_name: a.id for a in db.session.scalars(sa.select(Agency))}
    for other, name in (("WBI", "China–Wallonia-Brussels Joint Committee"), ("MUR", "China–Italy Joint Committee")):
        response = client.post("/admin/committees/new", data={
            "agency_a_id": ids["MOST"], "agency_b_id": ids[other], "title": f"Agreement MOST–{other}",
            "signed_on": "", "committee_name": name})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    committees = {c.name.split(" ")[0]: c for c in db.session.scalars(sa.select(JointCommittee))}
    a, b = committees["China–Wallonia-Brussels"], committees["China–Italy"]

    people = {  # (side, committee) of each invited staff member
        "most.be@most.example": ("MOST", a), "staff@wbi.example": ("WBI", a),
        "most.it@most.example": ("MOST", b), "staff@mur.example": ("MUR", b),
    }
    for email, (side, committee) in people.items():
        response = client.post("/admin/people/invite", data={
            "email": email, "name": f"Staff {side}", "role": "staff", "agency_id": ids[side],
            "committee_id": committee.id, "locale": "en"})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    client.post("/logout")

    opens, closes = utcnow() - timedelta(minutes=5), utcnow() + timedelta(days=30)
    for committee, drafter, approver, reference in ((a, "most.be@most.example", "staff@wbi.example", "CN-BE-2031"),
                                                    (b, "most.it@most.example", "staff@mur.example", "CN-IT-2031")):
        for email in (drafter, approver):
            _join(client, email)
            client.post("/logout")
        _log_in(client, drafter)
        data = call_form(None, None, opens=opens, closes=closes) | {"reference": reference, "title": f"Joint call {reference}"}
        response = client.post(f"/calls/new?committee={committee.id}", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        client.post("/logout")
        call = db.session.scalar(sa.select(Call).filter_by(reference=reference))
        assert call.committee_id == committee.id and call.state == CallState.draft
        _log_in(client, approver)
        assert client.post(f"/calls/{call.id}/approve").status_code == 302
        client.post("/logout")
        db.session.refresh(call)
        assert call.state == CallState.open  # its opening instant has passed: it runs

    # Staff of one committee asking to draft in the other are given their own committee.
    _log_in(client, "most.be@most.example")
    assert client.get(f"/calls/new?committee={b.id}").status_code == 200  # falls back to their own
    page = client.get(f"/calls/new?committee={b.id}").get_data(as_text=True)
    assert "WBI" in page and "MUR" not in page
