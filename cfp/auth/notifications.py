"""Emails about accounts. Each is an outbox row written in the caller's
transaction; it leaves only once that transaction commits."""
from __future__ import annotations

from cfp.core.outbox import queue_email
from cfp.core.urls import external_url


def send_verification_email(user, token_row, token: str, hours: int):
    return queue_email(
        to=user, template="verify_email", key=f"account-token:{token_row.id}",
        context={"user": user, "link": external_url("auth.verify_email", token=token), "hours": hours},
    )


def send_password_reset_email(user, token_row, token: str, minutes: int):
    return queue_email(
        to=user, template="reset_password", key=f"account-token:{token_row.id}",
        context={"user": user, "link": external_url("auth.reset_password", token=token),
                 "minutes": minutes},
    )


def send_account_exists_email(user, now):
    """Tell the owner that somebody tried to register their address: at most one
    such message per account and clock hour, so that the form fills no mailbox."""
    return queue_email(
        to=user, template="account_exists", key=f"account-exists:{user.id}:{now:%Y-%m-%dT%H}",
        context={"login_link": external_url("auth.login"),
                 "reset_link": external_url("auth.forgot_password")},
    )
