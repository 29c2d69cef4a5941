"""An invited person joins through a page of its own (issue 13): it says who invited them,
for which role in which committee, and asks for a password; the link is the same kind of
token as a password reset (once, expiring, proving the address)."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.auth.models import User
from cfp.core.audit import AuditEntry
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests.auth.helpers import emailed_path

NEW = "a brand new password"


def _invite(client, cn, committee) -> str:
    admin = f.user(Role.admin, name="Ada Admin")
    f.login(client, admin)
    assert client.post("/admin/people/invite", data={
        "email": "wang.fang@most.example", "name": "Wang Fang", "role": "staff",
        "agency_id": cn.id, "committee_id": committee.id, "locale": "en"}).status_code == 302
    client.post("/logout")
    return emailed_path("account_invitation", "wang.fang@most.example")


def test_the_invitation_has_its_own_page_naming_who_invited_and_for_what(app, client):
    cn, _be, committee = f.world()
    path = _invite(client, cn, committee)
    assert path.startswith("/invitation/")
    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Set your password to join" in text and committee.name in text
    assert "Ada Admin" in text and "staff" in text and "MOST" in text
    assert "wang.fang@most.example" in text
    assert "new password" not in text.lower()  # not the password-reset wording
    assert page.headers.get("Referrer-Policy") == "no-referrer"

    # A refused password: the page comes back, the link still works.
    assert newcomer.post(path, data={"password": "short", "confirm": "short"}).status_code == 200
    answer = newcomer.post(path, data={"password": NEW, "confirm": NEW})
    assert answer.status_code == 302
    person = db.session.scalar(sa.select(User).filter_by(email="wang.fang@most.example"))
    assert person.check_password(NEW) and person.email_verified
    assert newcomer.get("/proposals/staff").status_code == 200  # logged in, with the role
    assert db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "User", AuditEntry.object_id == person.id)).all()[-1] == "user.accept_invitation"

    # Once only.
    again = app.test_client().get(path)
    assert again.status_code == 400


def test_a_password_reset_link_is_not_an_invitation_and_the_other_way_round(app, client):
    cn, _be, committee = f.world()
    path = _invite(client, cn, committee)
    token = path.rsplit("/", 1)[1]
    # The reset page sends the holder of an invitation to the invitation's page.
    answer = app.test_client().get(f"/reset-password/{token}")
    assert answer.status_code == 302 and answer.location == path
    # A reset link opens no invitation page.
    person = f.user(Role.researcher, email="anne@example.org")
    db.session.commit()
    assert client.post("/reset-password", data={"email": person.email}).status_code == 302
    reset = emailed_path("reset_password", person.email).rsplit("/", 1)[1]
    assert app.test_client().get(f"/invitation/{reset}").status_code == 400
    assert app.test_client().get("/invitation/no-such-token").status_code == 400
