"""Email through a real SMTP server (aiosmtpd on 127.0.0.1): each message arrives once,
with a Message-ID that stays the same on every attempt; a connection cut in the middle
of a send is retried, and a copy sent again after the server took it is recognisable
as the same message."""
from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from cfp.core.outbox import MessageStatus, deliver_message, message_id_for
from cfp.core.types import utcnow
from cfp.extensions import db
from tests import factories as f
from tests.workers.test_outbox import (
    closed_port,
    configured,
    fresh,
    outbox_row,
    queue_withdrawal_notice,
)


class Inbox:
    """What the server accepted; `cut` says how many upcoming messages to cut off:
    'before' (no reply, nothing kept) or 'after' (kept, then the reply is lost)."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.cut: list[str] = []
        self.connections: list[int] = []  # the connection (session) each message came over

    async def handle_DATA(self, server, session, envelope):
        self.connections.append(id(session))
        how = (self.cut.pop(0) or None) if self.cut else None
        if how == "after":
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        if how is not None:
            server.transport.abort()  # the connection dies before the client hears back
            return "421 gone"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with configured(app, SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                        SMTP_STARTTLS=False, SMTP_USER="", MAIL_FROM="cfp@committee.example"):
            yield inbox
    finally:
        controller.stop()


def test_messages_arrive_once_each_with_their_stable_message_id(smtp):
    pi, partner = f.user(name="Li Wei"), f.user(name="Anne Dupont")
    first = queue_withdrawal_notice(pi, "withdrawn-smtp-1")
    second = queue_withdrawal_notice(partner, "withdrawn-smtp-2")
    db.session.commit()  # delivery is queued on commit and runs at once (eager Celery)
    assert sorted(m["To"] for m in smtp.messages) == sorted([pi.email, partner.email])
    by_to = {m["To"]: m for m in smtp.messages}
    assert by_to[pi.email]["Message-ID"] == message_id_for("withdrawn-smtp-1", "cfp@committee.example")
    assert by_to[pi.email]["Subject"] == fresh(first).subject
    assert "Moving institution" in by_to[pi.email].get_content()
    for message in (first, second):
        message = fresh(message)
        assert message.status == MessageStatus.sent and message.transport == "smtp"
        assert message.attempts == 1


def test_a_connection_cut_mid_send_is_retried_and_the_message_arrives_once(smtp):
    pi = f.user()
    message = outbox_row(pi)
    db.session.commit()
    smtp.cut = ["before"]
    assert deliver_message(message.id) == "retry"
    assert smtp.messages == []
    row = fresh(message)
    assert row.status == MessageStatus.queued and "SMTPServerDisconnected" in row.last_error
    assert row.next_attempt_at > utcnow()
    assert deliver_message(message.id) == "sent"  # the sweep hands it out when due
    assert len(smtp.messages) == 1
    assert fresh(message).status == MessageStatus.sent and fresh(message).attempts == 2


def test_a_copy_sent_again_after_a_lost_reply_is_the_same_message(smtp):
    """The server kept the message but its reply was lost: the outbox cannot know, and
    sends it again; both copies carry one Message-ID, so the receiving side keeps one."""
    pi = f.user()
    message = outbox_row(pi)
    db.session.commit()
    smtp.cut = ["after"]
    assert deliver_message(message.id) == "retry"
    assert deliver_message(message.id) == "sent"
    assert len(smtp.messages) == 2
    assert len({m["Message-ID"] for m in smtp.messages}) == 1
    assert smtp.messages[0]["Message-ID"] == message_id_for(fresh(message).idempotency_key,
                                                            "cfp@committee.example")


def test_each_row_has_its_own_message_id():
    ids = {message_id_for(f"letter-1-{n}-2", "cfp@committee.example") for n in range(50)}
    assert len(ids) == 50 and all(i.endswith("@committee.example>") for i in ids)


def test_one_task_sends_the_messages_waiting_with_it_over_one_connection(smtp):
    """10,000 emails, one connection each, went at 31 a second (bench/outbox.py): a delivery
    claims the other messages waiting for their first attempt as well (up to MAIL_BATCH) and
    sends them on one connection; their own tasks then find them sent."""
    people = [f.user() for _ in range(5)]
    rows = [outbox_row(person) for person in people]
    later = outbox_row(f.user())
    later.next_attempt_at = utcnow() + timedelta(minutes=5)  # a retry that is not due yet
    held = outbox_row(f.user(), status=MessageStatus.held)
    db.session.commit()
    assert deliver_message(rows[2].id) == "sent"
    assert sorted(m["To"] for m in smtp.messages) == sorted(p.email for p in people)
    assert len(set(smtp.connections)) == 1
    for row in rows:
        assert fresh(row).status == MessageStatus.sent and fresh(row).attempts == 1
    assert fresh(later).status == MessageStatus.queued and fresh(later).attempts == 0
    assert fresh(held).status == MessageStatus.held
    assert [deliver_message(row.id) for row in rows] == ["skipped"] * 5
    assert len(smtp.messages) == 5


def test_a_message_cut_off_in_a_batch_is_retried_and_the_rest_still_go(smtp, app):
    rows = [outbox_row(f.user()) for _ in range(3)]
    db.session.commit()
    smtp.cut = ["", "before"]  # the second message of the connection is cut off
    with configured(app, MAIL_BATCH=3):
        assert deliver_message(rows[0].id) == "sent"
    states = sorted(fresh(row).status.value for row in rows)
    assert states == ["queued", "sent", "sent"]
    assert len(smtp.messages) == 2 and len(set(smtp.connections)) == 2  # a new connection after the cut
    retried = next(row for row in rows if fresh(row).status == MessageStatus.queued)
    assert "SMTPServerDisconnected" in fresh(retried).last_error and fresh(retried).next_attempt_at > utcnow()


def test_the_batch_is_bounded_by_the_setting(smtp, app):
    rows = [outbox_row(f.user()) for _ in range(4)]
    db.session.commit()
    with configured(app, MAIL_BATCH=2):
        assert deliver_message(rows[0].id) == "sent"
    assert sum(fresh(row).status == MessageStatus.sent for row in rows) == 2
    assert fresh(rows[0]).status == MessageStatus.sent


def _serve(app, handler):
    port = closed_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, configured(app, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False,
                                  SMTP_USER="", MAIL_FROM="cfp@committee.example")


def test_a_message_the_server_refuses_after_its_last_byte_is_retried_not_sent(app):
    """Refused once the server had all of it (a full mailbox, a full disk): not sent; tried
    again later, and the reason kept for staff."""
    class Refusing(Inbox):
        async def handle_DATA(self, server, session, envelope):
            return "452 Insufficient system storage"

    message = outbox_row(f.user())
    db.session.commit()
    controller, settings = _serve(app, Refusing())
    try:
        with settings:
            assert deliver_message(message.id) == "retry"
    finally:
        controller.stop()
    row = fresh(message)
    assert row.status == MessageStatus.queued and row.sent_at is None
    assert "452" in row.last_error and row.next_attempt_at > utcnow()
