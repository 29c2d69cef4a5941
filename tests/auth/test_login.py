"""Logging in, slowed down against guessing per account and per client address (a wait
that doubles with each failure, up to a cap, never a lock), with answers that tell
nothing about whether an account exists."""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.auth import operations as ops
from cfp.auth.models import LoginAttempt
from cfp.config import ConfigurationError
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
    """The status and the page, with the typed address and the CSRF token (new on every
    page, e.g. the language switcher's) taken out."""
    page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', response.data.decode())
    return response.status_code, page.replace(email, "ADDRESS")


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


def fail(user_or_email, times, *, start, address=None, step=timedelta(0)):
    """`times` wrong passwords, each after the wait of the one before (plus `step`),
    from `address` or else each from a new one (a botnet); returns the last instant."""
    email = getattr(user_or_email, "email", user_or_email)
    now = start
    for i in range(times):
        source = address or f"10.1.{i // 200}.{i % 200 + 1}"
        if i:
            now += ops.login_wait(email, ops.client_address(source), now) + step
        assert ops.authenticate(email, "a wrong guess", source, now=now) is None
    return now


def test_a_few_failures_cost_nothing(client, user):
    for _ in range(ops.ACCOUNT_FREE_FAILURES):
        assert attempt(client, user.email, "a wrong guess").status_code == 200
    assert attempt(client, user.email, f.PASSWORD).status_code == 302
    client.post("/logout")
    # The success starts the account's count afresh.
    for _ in range(ops.ACCOUNT_FREE_FAILURES):
        attempt(client, user.email, "a wrong guess")
    assert attempt(client, user.email, f.PASSWORD).status_code == 302


def test_each_failure_doubles_the_wait_of_the_account_up_to_a_cap(user):
    start, waits = utcnow(), []
    now = start
    for i in range(ops.ACCOUNT_FREE_FAILURES + 9):
        address = f"10.1.0.{i}"  # from anywhere: the account counts every failure
        assert ops.authenticate(user.email, "a wrong guess", address, now=now) is None
        waits.append(ops.login_wait(user.email, THERE, now).total_seconds())
        now += timedelta(seconds=waits[-1])
    free = ops.ACCOUNT_FREE_FAILURES
    assert waits[:free] == [0] * free
    assert waits[free:free + 6] == [1, 2, 4, 8, 16, 32]
    assert waits[-3:] == [ops.MAX_ACCOUNT_WAIT.total_seconds()] * 3


def test_an_attempt_inside_the_wait_is_refused_without_checking_the_password(user, monkeypatch):
    start = utcnow()
    last = fail(user, ops.ACCOUNT_FREE_FAILURES + 3, start=start)  # waits 4 s now
    checked = []
    monkeypatch.setattr(type(user), "check_password", lambda self, pw: checked.append(pw) or True)
    with pytest.raises(ops.LoginThrottled) as refused:
        ops.authenticate(user.email, f.PASSWORD, THERE, now=last + timedelta(seconds=1))
    assert refused.value.seconds == 3 and "try again in 3 seconds" in refused.value.message
    assert checked == []
    # The refused attempt is not a failure: it makes the wait no longer.
    assert ops.login_wait(user.email, THERE, last + timedelta(seconds=1)) == timedelta(seconds=3)


def test_the_right_password_after_the_wait_logs_in(user):
    """A stranger who types wrong passwords for a co-chair delays them, never locks them out."""
    start = utcnow()
    last = fail(user, ops.ACCOUNT_FREE_FAILURES + 8, start=start)  # the cap is reached
    wait = ops.login_wait(user.email, THERE, last)
    assert timedelta(0) < wait <= ops.MAX_ACCOUNT_WAIT
    assert ops.authenticate(user.email, f.PASSWORD, THERE, now=last + wait) is user


def test_an_address_where_the_owner_logged_in_ignores_the_failures_of_others(user):
    start = utcnow() - timedelta(days=2)
    assert ops.authenticate(user.email, f.PASSWORD, HERE, now=start) is user
    now = utcnow()
    last = fail(user, ops.ACCOUNT_FREE_FAILURES + 3, start=now)  # a stranger, elsewhere
    assert ops.login_wait(user.email, THERE, last) > timedelta(0)  # a new address waits
    assert ops.login_wait(user.email, HERE, last) == timedelta(0)  # the owner's usual one does not
    assert ops.authenticate(user.email, f.PASSWORD, HERE, now=last) is user
    # Failures from that address itself still slow it down.
    last = fail(user, ops.ACCOUNT_FREE_FAILURES + 1, start=last + timedelta(seconds=1), address=HERE)
    assert ops.login_wait(user.email, HERE, last) > timedelta(0)


def failed_lately(email, address, times):
    """`times` failures just now (as if typed in a burst), so that the wait is long enough
    for a few requests to fall inside it."""
    now = utcnow()
    db.session.add_all(LoginAttempt(email=email, address=address, succeeded=False, created_at=now)
                       for _ in range(times))
    db.session.commit()


def test_the_page_says_how_long_to_wait_and_alike_for_an_unknown_account(client, user):
    failed_lately(user.email, "10.1.0.1", ops.ACCOUNT_FREE_FAILURES + 6)  # 32 s to wait
    failed_lately("nobody@tsinghua.example", "10.1.0.2", ops.ACCOUNT_FREE_FAILURES + 6)
    waiting = attempt(client, user.email, f.PASSWORD, address=THERE)
    unknown = attempt(client, "nobody@tsinghua.example", "a wrong guess", address=THERE)
    assert waiting.status_code == 429 and 0 < int(waiting.headers["Retry-After"]) <= 32
    seconds = waiting.headers["Retry-After"]
    assert f"try again in {seconds} seconds" in waiting.data.decode()

    def alike(response, email):  # the seconds left differ by the time between the requests
        status, page = answer(response, email)
        return status, re.sub(r"in \d+ second", "in N second", page)

    assert alike(waiting, user.email) == alike(unknown, "nobody@tsinghua.example")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)
                             .filter_by(address=THERE)) == 0  # neither was checked nor counted
    # Other accounts, from the same addresses, are not held up.
    other = f.user(email="anne@uclouvain.example")
    db.session.commit()
    assert attempt(client, other.email, f.PASSWORD, address="10.1.0.1").status_code == 302


def test_the_wait_ends_with_the_window(user):
    start = utcnow()
    last = fail(user, ops.ACCOUNT_FREE_FAILURES + 8, start=start, step=timedelta(seconds=1))
    assert ops.login_wait(user.email, THERE, last + ops.LOGIN_WINDOW) == timedelta(0)


def test_a_password_reset_ends_the_wait_of_the_account(user):
    start = utcnow()
    last = fail(user, ops.ACCOUNT_FREE_FAILURES + 4, start=start)
    ops.request_password_reset(user.email, now=last)
    from tests.auth.helpers import emailed_path

    token = emailed_path("reset_password", user.email).rsplit("/", 1)[1]
    ops.reset_password(token, "a brand new password", now=last + timedelta(seconds=1))
    assert ops.authenticate(user.email, "a brand new password", THERE,
                            now=last + timedelta(seconds=2)) is user


def test_failures_from_one_address_on_any_accounts_slow_that_address(client, user):
    start = utcnow()
    now = start
    for i in range(ops.ADDRESS_FREE_FAILURES + 2):
        now += ops.login_wait(f"guess{i}@tsinghua.example", HERE, now)
        assert ops.authenticate(f"guess{i}@tsinghua.example", "a guess", HERE, now=now) is None
    wait = ops.login_wait(user.email, HERE, now)
    assert wait == timedelta(seconds=2)
    with pytest.raises(ops.LoginThrottled):
        ops.authenticate(user.email, f.PASSWORD, HERE, now=now)
    # The same account from another address logs in; from this one, after the wait.
    assert ops.login_wait(user.email, THERE, now) == timedelta(0)
    assert ops.authenticate(user.email, f.PASSWORD, HERE, now=now + wait) is user


def test_a_success_does_not_wipe_the_failures_of_the_address(user):
    now = utcnow()
    for i in range(ops.ADDRESS_FREE_FAILURES):
        ops.authenticate(f"guess{i}@tsinghua.example", "a guess", HERE, now=now)
    assert ops.authenticate(user.email, f.PASSWORD, HERE, now=now) is user  # no wait yet
    ops.authenticate("one.more@tsinghua.example", "a guess", HERE, now=now)
    assert ops.login_wait(user.email, HERE, now) == timedelta(seconds=1)


def test_failures_are_logged_and_a_burst_is_a_warning(user, caplog):
    caplog.set_level(logging.INFO, logger="cfp.auth")
    fail(user, ops.BURST_FAILURES, start=utcnow())
    failures = [r for r in caplog.records if r.levelno == logging.INFO and "failed" in r.getMessage()]
    assert len(failures) == ops.BURST_FAILURES
    [burst] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert user.email in burst.getMessage() and str(ops.BURST_FAILURES) in burst.getMessage()


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


# The client address behind proxies.

def test_without_trusted_proxies_a_forwarded_address_is_ignored(client, user):
    client.post("/login", data={"email": user.email, "password": "wrong"},
                headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": HERE})
    assert db.session.scalar(sa.select(LoginAttempt.address)) == HERE


@pytest.mark.parametrize("hops, seen", [(1, "203.0.113.9"), (2, "198.51.100.7")])
def test_behind_trusted_proxies_the_client_address_is_the_forwarded_one(app, hops, seen):
    from flask import request

    from cfp import create_app

    behind = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": secrets.token_hex(32),
        "TRUSTED_PROXIES": hops, "CELERY": {"task_always_eager": True, "broker_url": "memory://"},
    })
    try:
        behind.add_url_rule("/client-address", "client_address", lambda: request.remote_addr)
        response = behind.test_client().get(
            "/client-address", environ_base={"REMOTE_ADDR": "10.0.0.1"},
            headers={"X-Forwarded-For": "192.0.2.66, 198.51.100.7, 203.0.113.9"})
        assert response.data.decode() == seen  # the hops' own entries; a forged first one is not
    finally:
        app.extensions["celery"].set_default()  # create_app made the new app's Celery the default
        with behind.app_context():
            db.engine.dispose()


def test_the_number_of_trusted_proxies_is_a_setting(monkeypatch, tmp_path):
    from cfp.config import load_config

    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("CFP_TRUSTED_PROXIES", "2")
    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 2
    for wrong in ("-1", "one"):
        monkeypatch.setenv("CFP_TRUSTED_PROXIES", wrong)
        with pytest.raises(ConfigurationError, match="CFP_TRUSTED_PROXIES"):
            load_config(str(tmp_path))
