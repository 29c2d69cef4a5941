"""Logging in, limited against guessing per account and per client address,
with one answer that tells nothing about whether an account exists."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.auth import operations as ops
from cfp.auth.models import LoginAttempt
from cfp.core.audit import AuditEntry
from cfp.core.types import utcnow
from cfp.extensions import db
from tests import factories as f

HERE, THERE = "10.0.0.1", "10.0.0.2"


@pytest.fixture
def user():
    cn, _be, _committee = f.world()
    return f.user(agency=cn, email="li.wei@tsinghua.example")


def attempt(client, email, password, address=HERE):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def answer(response, email) -> tuple[int, str]:
    """The status and the page, with the typed address taken out."""
    return response.status_code, response.data.decode().replace(email, "ADDRESS")


def test_the_right_password_logs_in_and_is_recorded(client, user):
    response = attempt(client, user.email.upper(), f.PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    [row] = db.session.scalars(sa.select(LoginAttempt)).all()
    assert (row.email, row.address, row.succeeded) == (user.email, HERE, True)
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="user.login", actor_id=user.id))


def test_an_unknown_address_and_a_wrong_password_get_the_same_answer(client, user):
    wrong = attempt(client, user.email, "not the password")
    unknown = attempt(client, "nobody@tsinghua.example", "not the password")
    assert answer(wrong, user.email) == answer(unknown, "nobody@tsinghua.example")
    assert wrong.status_code == 200 and "Wrong email or password" in wrong.data.decode()
    rows = db.session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(r.email, r.succeeded) for r in rows] == [(user.email, False), ("nobody@tsinghua.example", False)]


def test_a_disabled_account_gets_the_same_answer(client, user):
    user.active = False
    db.session.commit()
    disabled = attempt(client, user.email, f.PASSWORD)
    unknown = attempt(client, "nobody@tsinghua.example", f.PASSWORD)
    assert answer(disabled, user.email) == answer(unknown, "nobody@tsinghua.example")


def test_logging_in_works_after_failures_below_the_limit(client, user):
    for _ in range(ops.MAX_FAILURES_PER_ACCOUNT - 1):
        assert attempt(client, user.email, "a wrong guess").status_code == 200
    assert attempt(client, user.email, f.PASSWORD).status_code == 302
    client.post("/logout")
    # The success starts the account's count afresh.
    for _ in range(ops.MAX_FAILURES_PER_ACCOUNT - 1):
        attempt(client, user.email, "a wrong guess")
    assert attempt(client, user.email, f.PASSWORD).status_code == 302


def test_an_account_is_paused_after_too_many_failures_from_anywhere(client, user):
    for i in range(ops.MAX_FAILURES_PER_ACCOUNT):
        attempt(client, user.email, "a wrong guess", address=f"10.1.0.{i}")
    paused = attempt(client, user.email, f.PASSWORD, address=THERE)
    unknown = attempt(client, "nobody@tsinghua.example", "a wrong guess", address=THERE)
    assert answer(paused, user.email) == answer(unknown, "nobody@tsinghua.example")
    assert paused.status_code == 200
    # Other accounts, from the same addresses, are not held up.
    other = f.user(email="anne@uclouvain.example")
    db.session.commit()
    assert attempt(client, other.email, f.PASSWORD, address="10.1.0.0").status_code == 302


def test_an_unknown_account_is_paused_alike(client):
    for _ in range(ops.MAX_FAILURES_PER_ACCOUNT):
        attempt(client, "nobody@tsinghua.example", "a guess")
    assert ops.authenticate("nobody@tsinghua.example", "a guess", THERE) is None
    assert ops._login_paused("nobody@tsinghua.example", THERE, None, utcnow())


def test_the_pause_of_an_account_ends_with_the_window(user):
    start = utcnow()
    for i in range(ops.MAX_FAILURES_PER_ACCOUNT):
        assert ops.authenticate(user.email, "a wrong guess", f"10.1.0.{i}", now=start) is None
    assert ops.authenticate(user.email, f.PASSWORD, THERE, now=start + timedelta(minutes=14)) is None
    assert ops.authenticate(user.email, f.PASSWORD, THERE, now=start + timedelta(minutes=30)) is user


def test_a_password_reset_ends_the_pause_of_the_account(user):
    start = utcnow()
    for _ in range(ops.MAX_FAILURES_PER_ACCOUNT):
        ops.authenticate(user.email, "a wrong guess", THERE, now=start)
    ops.request_password_reset(user.email, now=start)
    from tests.auth.helpers import emailed_path

    token = emailed_path("reset_password", user.email).rsplit("/", 1)[1]
    ops.reset_password(token, "a brand new password", now=start + timedelta(minutes=1))
    assert ops.authenticate(user.email, "a brand new password", HERE,
                            now=start + timedelta(minutes=2)) is user


def test_an_address_is_paused_after_too_many_failures_on_any_accounts(client, user):
    for i in range(ops.MAX_FAILURES_PER_ADDRESS):
        attempt(client, f"guess{i}@tsinghua.example", "a guess")
    paused = attempt(client, user.email, f.PASSWORD)
    unknown = attempt(client, "nobody@tsinghua.example", "a guess")
    assert answer(paused, user.email) == answer(unknown, "nobody@tsinghua.example")
    assert paused.status_code == 200
    # The same account from another address logs in.
    assert attempt(client, user.email, f.PASSWORD, address=THERE).status_code == 302


def test_a_success_does_not_wipe_the_failures_of_the_address(client, user):
    for i in range(ops.MAX_FAILURES_PER_ADDRESS - 1):
        attempt(client, f"guess{i}@tsinghua.example", "a guess")
    assert attempt(client, user.email, f.PASSWORD).status_code == 302  # below the limit
    client.post("/logout")
    attempt(client, "one.more@tsinghua.example", "a guess")  # the limit is reached
    assert attempt(client, user.email, f.PASSWORD).status_code == 200


def test_the_default_client_address_is_the_requests(client, user):
    client.post("/login", data={"email": user.email, "password": "wrong"})
    assert db.session.scalar(sa.select(LoginAttempt.address)) == "127.0.0.1"


@pytest.mark.parametrize("remote, key", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("fe80::1%eth0", "fe80::/64"),
    (None, "unknown"),
    ("not an address", "unknown"),
])
def test_client_addresses(remote, key):
    assert ops.client_address(remote) == key


def test_old_attempts_and_dead_tokens_are_purged(user):
    long_ago = utcnow() - timedelta(days=40)
    ops.authenticate(user.email, "a guess", HERE, now=long_ago)
    ops.authenticate(user.email, "a guess", HERE)
    ops.request_password_reset(user.email, now=long_ago)
    ops.request_password_reset(user.email)
    assert ops.purge_account_records() == (1, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1
