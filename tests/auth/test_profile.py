"""The profile page: what it shows, what it changes, what it refuses, and the
audit entry of every change."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cfp.auth import operations as ops
from cfp.auth.models import LoginAttempt
from cfp.core.audit import AuditEntry
from cfp.core.errors import NotAllowed
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from tests import factories as f


@pytest.fixture
def world():
    return f.world()


@pytest.fixture
def user(world):
    cn = world[0]
    return f.user(Role.researcher, agency=cn, name="Li Wei", affiliation="Tsinghua University")


def profile(user, **changes) -> dict:
    data = {"name": user.name, "name_original": user.name_original or "", "affiliation": user.affiliation,
            "agency_id": user.agency_id, "orcid": user.orcid or "", "locale": user.locale,
            "timezone": user.timezone or ""}
    return {**data, **changes}


def audits(user, action="user.update_profile"):
    return db.session.scalars(
        sa.select(AuditEntry).filter_by(action=action, object_id=user.id).order_by(AuditEntry.id)
    ).all()


def test_anonymous_visitors_log_in_first(client):
    response = client.get("/account")
    assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_the_page_shows_the_profile(client, user):
    f.login(client, user)
    page = client.get("/account").data.decode()
    assert user.email in page and 'value="Li Wei"' in page and 'value="Tsinghua University"' in page
    assert "Preferred language" in page and "中文" in page and "Français" in page
    assert "Asia/Shanghai" in page and "Change my password" in page


def test_a_change_is_saved_and_audited(client, user):
    f.login(client, user)
    response = client.post("/account", data=profile(
        user, name_original="李伟", orcid="https://orcid.org/0000-0002-1694-233x", locale="zh_Hans",
        timezone="Europe/Brussels",
    ))
    assert response.status_code == 302 and response.location == "/account"
    db.session.refresh(user)
    assert (user.name_original, user.orcid, user.locale, user.timezone) == (
        "李伟", "0000-0002-1694-233X", "zh_Hans", "Europe/Brussels")
    [entry] = audits(user)
    assert entry.actor_id == user.id
    assert entry.before == {"name_original": None, "orcid": None, "locale": "en", "timezone": None}
    assert entry.after == {"name_original": "李伟", "orcid": "0000-0002-1694-233X", "locale": "zh_Hans",
                           "timezone": "Europe/Brussels"}
    # Saving the same again changes nothing and writes nothing.
    client.post("/account", data=profile(user))
    assert len(audits(user)) == 1


def test_an_invalid_orcid_is_refused_beside_the_field_keeping_what_was_typed(client, user):
    f.login(client, user)
    response = client.post("/account", data=profile(user, orcid="0000-0002-1825-0098",
                                                    affiliation="Peking University"))
    assert response.status_code == 200
    page = response.data.decode()
    assert "This is not a valid ORCID iD" in page and "is-invalid" in page
    assert 'value="0000-0002-1825-0098"' in page and 'value="Peking University"' in page
    db.session.refresh(user)
    assert user.orcid is None and user.affiliation == "Tsinghua University"
    assert audits(user) == []


def test_the_latin_name_is_required(client, user):
    f.login(client, user)
    response = client.post("/account", data=profile(user, name="李伟"))
    assert response.status_code == 200 and "Write this name in Latin letters" in response.data.decode()
    assert client.post("/account", data=profile(user, name="")).status_code == 200
    db.session.refresh(user)
    assert user.name == "Li Wei"


def test_an_unknown_time_zone_or_language_is_refused(client, user):
    f.login(client, user)
    assert client.post("/account", data=profile(user, timezone="Mars/Olympus")).status_code == 200
    assert client.post("/account", data=profile(user, locale="de")).status_code == 200
    assert audits(user) == []


def test_the_side_changes_while_the_user_is_no_pi(client, user, world):
    _cn, be, _committee = world
    f.login(client, user)
    assert "Your side can change only while" in client.get("/account").data.decode()
    assert client.post("/account", data=profile(user, agency_id=be.id)).status_code == 302
    db.session.refresh(user)
    assert user.agency_id == be.id
    assert audits(user)[-1].after == {"agency_id": be.id}


def test_the_side_is_fixed_for_a_pi_and_the_page_says_why(client, user, world):
    cn, be, committee = world
    f.proposal(f.call(committee), user)
    db.session.commit()
    f.login(client, user)
    page = client.get("/account").data.decode()
    assert "cannot change while you are the principal investigator" in page
    assert 'name="agency_id"' not in page
    # A posted side is not taken; the rest of the profile is.
    response = client.post("/account", data=profile(user, agency_id=be.id, affiliation="Fudan University"))
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.agency_id, user.affiliation) == (cn.id, "Fudan University")
    with pytest.raises(NotAllowed):
        ops.update_profile(user, user, agency_id=be.id)


def test_the_side_of_staff_comes_from_their_role(world):
    cn, be, _committee = world
    staff = f.user(Role.staff, agency=cn)
    assert "roles you hold" in str(staff.side_locked_reason())
    with pytest.raises(NotAllowed):
        ops.update_profile(staff, staff, agency_id=be.id)


def test_nobody_changes_somebody_elses_profile(world, user):
    other = f.user(Role.researcher, agency=world[0])
    with pytest.raises(NotAllowed):
        ops.update_profile(other, user, affiliation="Elsewhere")


def test_changing_the_password_needs_the_current_one(client, user):
    f.login(client, user)
    new = "a brand new password"
    response = client.post("/account/password", data={"current": "not it at all", "new": new, "confirm": new})
    assert response.status_code == 200
    page = response.data.decode()
    assert "The current password is not right" in page and 'value="Li Wei"' in page
    assert audits(user, "user.change_password") == []

    response = client.post("/account/password", data={"current": f.PASSWORD, "new": new, "confirm": new})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password(new) and user.password_changed_at is not None
    [entry] = audits(user, "user.change_password")
    assert entry.before is None and entry.after is None  # never a hash in the log
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": new}).status_code == 302


def test_a_wrong_current_password_counts_against_guessing(client, user):
    f.login(client, user)
    for _ in range(ops.ACCOUNT_FREE_FAILURES + 1):  # each is checked (no wait before the last)
        response = client.post("/account/password",
                               data={"current": "wrong guess!", "new": "x" * 12, "confirm": "x" * 12})
        assert "The current password is not right" in response.data.decode()
    failures = sa.select(sa.func.count()).select_from(LoginAttempt).filter_by(email=user.email,
                                                                              succeeded=False)
    assert db.session.scalar(failures) == ops.ACCOUNT_FREE_FAILURES + 1
    # A few more (as if typed in a burst): the wait is long; the right password waits too.
    db.session.add_all(LoginAttempt(email=user.email, address="127.0.0.1", succeeded=False,
                                    created_at=utcnow()) for _ in range(4))
    db.session.commit()
    response = client.post("/account/password",
                           data={"current": f.PASSWORD, "new": "y" * 12, "confirm": "y" * 12})
    assert response.status_code == 429 and "try again in" in response.data.decode()
    db.session.refresh(user)
    assert user.password_changed_at is None
