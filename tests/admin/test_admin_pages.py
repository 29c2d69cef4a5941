"""The administration pages, driven as an administrator does: agencies, agreements with
their committee, people (invitation, roles, deactivation, sessions), each change audited."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.auth.models import User, UserRole
from cfp.calls.models import Agency, Agreement, JointCommittee
from cfp.core.audit import AuditEntry
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests.auth.helpers import emailed_path, messages

IT = {"name": "Ministry of University and Research", "short_name": "MUR", "code": "it",
      "country": "Italy", "currency": "eur", "timezone": "Europe/Rome", "locale": "en"}


def _actions(action: str) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).filter_by(action=action)).all()


def _admin(client):
    admin = f.user(Role.admin, name="Ada Admin")
    f.login(client, admin)
    return admin


def test_an_admin_creates_an_agency_and_an_agreement_with_its_committee(client):
    cn, _be, _committee = f.world()
    admin = _admin(client)
    assert client.post("/admin/agencies/new", data=IT).status_code == 302
    it = db.session.scalar(sa.select(Agency).filter_by(code="IT"))
    assert (it.short_name, it.currency, it.timezone, it.locale) == ("MUR", "EUR", "Europe/Rome", "en")
    assert "MUR" in client.get("/admin/agencies").get_data(as_text=True)

    answer = client.post("/admin/committees/new", data={
        "agency_a_id": cn.id, "agency_b_id": it.id, "title": "China–Italy agreement",
        "committee_name": "China–Italy Joint Committee"})
    assert answer.status_code == 302
    committee = db.session.scalar(sa.select(JointCommittee).filter_by(name="China–Italy Joint Committee"))
    assert [a.code for a in committee.agencies] == ["CN", "IT"]
    assert answer.location == f"/admin/committees/{committee.id}"

    assert client.post(f"/admin/committees/{committee.id}", data={
        "name": "Sino-Italian Joint Committee", "agreement_title": "China–Italy agreement (2024)"}).status_code == 302
    db.session.refresh(committee)
    assert committee.name == "Sino-Italian Joint Committee"
    assert "Sino-Italian Joint Committee" in client.get("/admin/committees").get_data(as_text=True)
    for action in ("admin.create_agency", "admin.create_agreement", "admin.create_committee",
                   "admin.update_committee"):
        [entry] = _actions(action)
        assert entry.actor_id == admin.id, action


def test_a_refused_agency_comes_back_with_what_was_typed_and_the_reason(client):
    _admin(client)
    for field, value, reason in (("currency", "EUX", "ISO 4217"), ("timezone", "Europe/Atlantis", "time zone")):
        answer = client.post("/admin/agencies/new", data={**IT, field: value})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422 and reason in page and value in page and "Ministry of University" in page
    assert db.session.scalar(sa.select(Agency).filter_by(code="IT")) is None
    assert not _actions("admin.create_agency")


def test_an_agreement_needs_two_different_agencies(client):
    cn, _be, _committee = f.world()
    _admin(client)
    answer = client.post("/admin/committees/new", data={
        "agency_a_id": cn.id, "agency_b_id": cn.id, "title": "With itself", "committee_name": "Alone"})
    assert answer.status_code == 422 and "two different agencies" in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Agreement.id))) == 1


def test_an_invited_person_joins_with_the_role_for_that_committee_only(app, client):
    cn, _be, committee = f.world()
    admin = _admin(client)
    answer = client.post("/admin/people/invite", data={
        "email": "Wang.Fang@most.example", "name": "Wang Fang", "role": "staff",
        "agency_id": cn.id, "committee_id": committee.id, "locale": "zh_Hans"})
    assert answer.status_code == 302
    person = db.session.scalar(sa.select(User).filter_by(email="wang.fang@most.example"))
    assert person.password_hash is None and not person.email_verified
    assert person.has_role(Role.staff, cn, committee) and person.committee_ids() == {committee.id}
    [entry] = _actions("admin.invite_person")
    assert entry.actor_id == admin.id and entry.after["committee_id"] == committee.id

    # They follow the emailed link, choose a password, and are in.
    newcomer = app.test_client()
    path = emailed_path("account_invitation", "wang.fang@most.example")
    assert newcomer.post(path, data={"password": "a brand new password",
                                     "confirm": "a brand new password"}).status_code == 302
    db.session.refresh(person)
    assert person.email_verified and person.check_password("a brand new password")
    assert newcomer.get("/proposals/staff").status_code == 200


def test_an_existing_account_gets_the_role_and_an_email(client):
    cn, _be, _committee = f.world()
    _admin(client)
    researcher = f.user(Role.researcher, agency=cn, email="li.wei@example.org")
    assert client.post("/admin/people/invite", data={
        "email": "li.wei@example.org", "name": "ignored", "role": "reviewer",
        "agency_id": cn.id, "committee_id": 0, "locale": "en"}).status_code == 302
    db.session.refresh(researcher)
    assert researcher.has_role(Role.reviewer, cn) and researcher.check_password(f.PASSWORD)
    assert len(messages("role_granted", "li.wei@example.org")) == 1
    assert not messages("account_invitation", "li.wei@example.org")


def test_a_role_needs_its_side_and_a_side_of_its_committee(client):
    cn, _be, committee = f.world()
    it = Agency(**{**IT, "code": "IT", "currency": "EUR"})
    db.session.add(it)
    db.session.flush()
    _admin(client)
    person = f.user(Role.researcher, agency=cn)
    for data, reason in (({"role": "staff", "agency_id": 0, "committee_id": committee.id}, "choose the agency"),
                         ({"role": "cochair", "agency_id": it.id, "committee_id": committee.id}, "not a side")):
        answer = client.post(f"/admin/people/{person.id}/roles", data=data)
        assert answer.status_code == 422 and reason in answer.get_data(as_text=True)
    db.session.refresh(person)
    assert [r.role for r in person.roles] == [Role.researcher]


def test_grant_and_revoke_a_role_from_the_persons_page(client):
    cn, _be, committee = f.world()
    _admin(client)
    person = f.user(Role.researcher, agency=cn)
    assert client.post(f"/admin/people/{person.id}/roles", data={
        "role": "cochair", "agency_id": cn.id, "committee_id": committee.id}).status_code == 302
    grant = db.session.scalar(sa.select(UserRole).filter_by(user_id=person.id, role=Role.cochair))
    assert grant.committee_id == committee.id
    page = client.get(f"/admin/people/{person.id}").get_data(as_text=True)
    assert committee.name in page
    assert client.post(f"/admin/people/{person.id}/roles/{grant.id}/revoke").status_code == 302
    db.session.refresh(person)
    assert not person.has_role(Role.cochair)
    assert _actions("admin.grant_role") and _actions("admin.revoke_role")


def test_a_deactivated_account_cannot_log_in_and_its_sessions_end(app, client):
    cn, _be, _committee = f.world()
    _admin(client)
    person = f.user(Role.researcher, agency=cn)
    theirs = app.test_client()
    f.login(theirs, person)
    assert theirs.get("/account").status_code == 200
    assert client.post(f"/admin/people/{person.id}/deactivate").status_code == 302
    assert theirs.get("/account").status_code == 302  # their session is over
    assert app.test_client().post("/login", data={"email": person.email, "password": f.PASSWORD}).status_code == 200
    assert _actions("admin.deactivate_account")
    assert client.post(f"/admin/people/{person.id}/reactivate").status_code == 302
    f.login(app.test_client(), person)


def test_log_out_everywhere_ends_the_persons_sessions(app, client):
    _admin(client)
    person = f.user(Role.researcher)
    theirs = app.test_client()
    f.login(theirs, person)
    assert client.post(f"/admin/people/{person.id}/sessions/end").status_code == 302
    assert theirs.get("/account").status_code == 302
    assert client.get("/admin/").status_code == 200  # the admin's own session stays
    [entry] = _actions("user.end_sessions")
    assert entry.object_id == person.id


def test_the_last_admin_cannot_deactivate_or_demote_themself(client):
    admin = _admin(client)
    [grant] = admin.roles
    answer = client.post(f"/admin/people/{admin.id}/roles/{grant.id}/revoke")
    assert answer.status_code == 422 and "last administrator" in answer.get_data(as_text=True)
    answer = client.post(f"/admin/people/{admin.id}/deactivate")
    assert answer.status_code == 422 and "your own account" in answer.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.is_admin and admin.active
    # With a second admin, the first may step down.
    f.user(Role.admin)
    assert client.post(f"/admin/people/{admin.id}/roles/{grant.id}/revoke").status_code == 302
    db.session.refresh(admin)
    assert not admin.is_admin


def test_the_people_list_searches_and_shows_roles_with_their_committee(client):
    cn, _be, committee = f.world()
    _admin(client)
    staff = f.user(agency=cn, name="Sun Wei", email="sun.wei@most.example")
    staff.grant(Role.staff, cn, committee)
    f.user(Role.researcher, name="Somebody Else")
    db.session.flush()
    page = client.get("/admin/people?q=sun.wei").get_data(as_text=True)
    assert "Sun Wei" in page and "Somebody Else" not in page and committee.name in page
    assert "Somebody Else" in client.get("/admin/people?q=else").get_data(as_text=True)


def test_only_admins_see_the_administration_link(client):
    f.login(client, f.user(Role.secretariat))
    assert "/admin/" not in client.get("/").get_data(as_text=True)
    assert client.get("/admin/people").status_code == 403


# Deleting another person's account (issue 13), through cfp/auth/deletion.py.

def _csrf(client, path: str) -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_an_admin_deletes_a_persons_account_after_typing_its_address(app, client):
    from tests.test_access import csrf_enabled

    cn, _be, _committee = f.world()
    admin = _admin(client)
    person = f.user(Role.researcher, agency=cn, name="Li Wei", email="li.wei@example.org")
    theirs = app.test_client()
    f.login(theirs, person)
    db.session.commit()

    page = client.get(f"/admin/people/{person.id}").get_data(as_text=True)
    assert f"/admin/people/{person.id}/delete" in page
    confirm = client.get(f"/admin/people/{person.id}/delete")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "li.wei@example.org" in text and "cannot be undone" in text

    with csrf_enabled(app):
        path = f"/admin/people/{person.id}/delete"
        # Without the session's token: refused, nothing done.
        assert client.post(path, data={"email": "li.wei@example.org", "reason": "A letter"}).status_code == 400
        token = _csrf(client, path)
        # A wrong address: the form comes back, nothing done.
        answer = client.post(path, data={"csrf_token": token, "email": "li.wei@example.com",
                                         "reason": "A letter of 3 May"})
        assert answer.status_code == 422 and "address" in answer.get_data(as_text=True)
        db.session.refresh(person)
        assert person.anonymised_at is None and not _actions("user.deletion_requested")
        # The address typed (in any case): the account is deleted.
        answer = client.post(path, data={"csrf_token": token, "email": " Li.Wei@Example.org ",
                                         "reason": "A letter of 3 May"})
    assert answer.status_code == 302 and answer.location == f"/admin/people/{person.id}"
    db.session.refresh(person)
    assert person.anonymised_at is not None and person.email == f"deleted-{person.id}@invalid"
    assert not person.active and theirs.get("/account").status_code == 302
    [requested] = _actions("user.deletion_requested")
    assert requested.actor_id == admin.id and requested.after == {"reason": "A letter of 3 May"}
    [done] = _actions("user.anonymised")
    assert done.actor_id == admin.id
    assert len(messages("account_deleted", "li.wei@example.org")) == 1
    # Deleted once: the page no longer offers it, and a second request is refused.
    assert f"/admin/people/{person.id}/delete" not in client.get(f"/admin/people/{person.id}").get_data(as_text=True)
    again = client.post(f"/admin/people/{person.id}/delete", data={"email": person.email, "reason": "again"})
    assert again.status_code == 422 and "already deleted" in again.get_data(as_text=True)


def test_the_deletion_is_refused_with_its_reason_and_the_refusal_is_logged(client):
    cn, _be, committee = f.world()
    admin = _admin(client)
    staff = f.user(agency=cn, name="Sun Wei", email="sun.wei@most.example")
    staff.grant(Role.staff, cn, committee)
    db.session.commit()
    page = client.get(f"/admin/people/{staff.id}/delete").get_data(as_text=True)
    assert "Sun Wei holds a role" in page  # said before anything is typed
    answer = client.post(f"/admin/people/{staff.id}/delete", data={"email": "sun.wei@most.example",
                                                                 "reason": "Left the ministry"})
    assert answer.status_code == 422 and "Sun Wei holds a role" in answer.get_data(as_text=True)
    db.session.refresh(staff)
    assert staff.anonymised_at is None and staff.has_role(Role.staff, cn, committee)
    [refused] = _actions("user.deletion_refused")
    assert refused.actor_id == admin.id and "holds a role" in refused.after["reasons"][0]

    # The admin's own account is deleted from the account page, with the password.
    answer = client.post(f"/admin/people/{admin.id}/delete", data={"email": admin.email, "reason": "x"})
    assert answer.status_code == 422 and "your account page" in answer.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.anonymised_at is None and admin.is_admin


def test_only_admins_reach_the_deletion_of_an_account(client):
    person = f.user(Role.researcher, email="li.wei@example.org")
    f.login(client, f.user(Role.secretariat))
    assert client.get(f"/admin/people/{person.id}/delete").status_code == 403
    assert client.post(f"/admin/people/{person.id}/delete", data={"email": "li.wei@example.org",
                                                                  "reason": "x"}).status_code == 403
    db.session.refresh(person)
    assert person.anonymised_at is None
