"""The outbox with the real code: rows written in the transaction, delivery
queued on commit (run eagerly by the test app's Celery), claimed once, retried
on SMTP failure, swept up when left behind, held until released."""
from __future__ import annotations

import socket
import uuid
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from celery.signals import task_postrun

from cfp.core.outbox import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    MessageStatus,
    OutboxMessage,
    deliver_message,
    messages_to_requeue,
    queue_email,
    release_message,
)
from cfp.core.types import utcnow
from cfp.extensions import db
from tests import factories as f
from workers.mail import deliver_email, requeue_outbox


@pytest.fixture
def deliveries():
    """Every run of the delivery task, as (message id, what it returned)."""
    runs = []

    def record(sender=None, args=None, retval=None, **kw):
        if sender is not None and sender.name == deliver_email.name:
            runs.append((args[0], retval))

    task_postrun.connect(record, weak=False)
    try:
        yield runs
    finally:
        task_postrun.disconnect(record)


@contextmanager
def configured(app, **values):
    """Change the session-wide app's config for one block, then put it back."""
    saved = {key: app.config[key] for key in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(saved)


def closed_port() -> int:
    """A local port where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_down(app):
    with configured(app, SMTP_HOST="127.0.0.1", SMTP_PORT=closed_port(), SMTP_STARTTLS=False,
                    SMTP_USER=""):
        yield


def queue_withdrawal_notice(to, key, **kw):
    return queue_email(
        to=to, template="proposal_withdrawn", key=key,
        context={"proposal": SimpleNamespace(title="Perovskite solar cells"),
                 "actor": SimpleNamespace(name="Partner PI"), "reason": "Moving institution"},
        **kw,
    )


def outbox_row(recipient, *, status=MessageStatus.queued, created_ago=timedelta(0),
               claimed_ago=None, attempts=0) -> OutboxMessage:
    """A message written as if by an earlier transaction (no delivery queued)."""
    now = utcnow()
    message = OutboxMessage(
        idempotency_key=f"test-{uuid.uuid4().hex}", recipient=recipient.email,
        recipient_user_id=recipient.id, template="proposal_withdrawn", subject="Subject",
        body="Body", status=status, attempts=attempts, created_at=now - created_ago,
        claimed_at=now - claimed_ago if claimed_ago is not None else None,
    )
    db.session.add(message)
    db.session.flush()
    return message


def fresh(message: OutboxMessage) -> OutboxMessage:
    """The row as it is now (the delivery ran in its own session)."""
    return db.session.get(OutboxMessage, message.id, populate_existing=True)


def count(key: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.idempotency_key == key))


def test_message_is_a_row_of_the_transaction_and_a_rollback_sends_nothing(deliveries):
    pi = f.user(name="Li Wei")
    db.session.commit()

    message = queue_withdrawal_notice(pi, "withdrawn-1")
    assert count("withdrawn-1") == 1
    assert message.status == MessageStatus.queued
    assert message.recipient == pi.email and message.recipient_user_id == pi.id
    assert "Li Wei" in message.body and "Perovskite solar cells" in message.subject
    assert deliveries == []  # nothing leaves before the commit

    db.session.rollback()
    db.session.commit()
    assert count("withdrawn-1") == 0
    assert deliveries == []  # the rollback took the queued delivery with it


def test_savepoint_rolled_back_leaves_nothing_to_send(deliveries):
    pi = f.user()
    savepoint = db.session.begin_nested()
    queue_withdrawal_notice(pi, "withdrawn-2")
    assert count("withdrawn-2") == 1
    savepoint.rollback()
    assert count("withdrawn-2") == 0

    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    # The after-commit hook keeps callbacks of a rolled-back savepoint, so a
    # delivery task may still run for the vanished row: it must find nothing.
    assert all(result == "skipped" for _, result in deliveries)


def test_same_key_queues_one_message(deliveries):
    pi = f.user()
    first = queue_withdrawal_notice(pi, "withdrawn-3")
    again = queue_withdrawal_notice(pi, "withdrawn-3")
    assert again is first
    db.session.commit()
    assert count("withdrawn-3") == 1
    assert deliveries == [(first.id, "sent")]


def test_committed_message_is_delivered_once(deliveries):
    pi = f.user()
    message = queue_withdrawal_notice(pi, "withdrawn-4")
    db.session.commit()

    message = fresh(message)
    assert deliveries == [(message.id, "sent")]
    assert message.status == MessageStatus.sent
    assert message.attempts == 1
    assert message.transport == "outbox"
    assert message.sent_at is not None and message.last_error is None

    # A second delivery (a retried or duplicated task) sends nothing more.
    assert deliver_email.delay(message.id).get() == "skipped"
    assert deliver_message(message.id) == "skipped"
    message = fresh(message)
    assert message.status == MessageStatus.sent and message.attempts == 1


def test_failing_smtp_keeps_the_message_and_schedules_the_next_attempt(app):
    pi = f.user()
    message = outbox_row(pi)
    db.session.commit()

    with smtp_down(app):
        for attempt in range(1, MAX_ATTEMPTS):
            before = utcnow()
            assert deliver_message(message.id) == "retry"
            message = fresh(message)
            assert message.status == MessageStatus.queued
            assert message.attempts == attempt
            assert message.last_error.startswith("ConnectionRefusedError")
            assert message.sent_at is None and message.transport is None
            assert before + RETRY_DELAYS[attempt - 1] <= message.next_attempt_at <= \
                utcnow() + RETRY_DELAYS[attempt - 1]

        assert deliver_message(message.id) == "failed"
        message = fresh(message)
        assert message.status == MessageStatus.failed and message.next_attempt_at is None
        assert message.attempts == MAX_ATTEMPTS
        assert message.last_error.startswith("ConnectionRefusedError")

        # A failed message is left for staff; deliveries no longer touch it.
        assert deliver_message(message.id) == "skipped"
        assert fresh(message).attempts == MAX_ATTEMPTS


def test_retries_grow_from_a_minute_to_hours_over_about_a_day():
    waits = [d.total_seconds() for d in RETRY_DELAYS]
    assert waits == sorted(waits) and waits[0] == 60
    assert timedelta(hours=20) <= sum(RETRY_DELAYS, timedelta()) <= timedelta(hours=30)


def test_message_is_sent_once_smtp_is_back(app):
    pi = f.user()
    message = outbox_row(pi)
    db.session.commit()
    with smtp_down(app):
        assert deliver_message(message.id) == "retry"
    assert fresh(message).status == MessageStatus.queued

    assert deliver_message(message.id) == "sent"  # SMTP_HOST empty again: embedded transport
    message = fresh(message)
    assert message.status == MessageStatus.sent
    assert message.attempts == 2
    assert message.last_error is None and message.next_attempt_at is None


def test_a_failed_first_attempt_leaves_the_commit_alone_and_waits_for_its_turn(app, deliveries):
    """The delivery queued after commit fails: the commit that caused the email is
    not disturbed, the row stays queued with its next attempt a minute later, and the
    sweep does not hand it out before then."""
    pi = f.user()
    with smtp_down(app):
        message = queue_withdrawal_notice(pi, "withdrawn-5")
        db.session.commit()
    assert deliveries == [(message.id, "retry")]
    message = fresh(message)
    assert message.status == MessageStatus.queued and message.attempts == 1
    assert message.last_error.startswith("ConnectionRefusedError")
    assert message.id not in messages_to_requeue(utcnow() + timedelta(seconds=30))
    assert message.id in messages_to_requeue(utcnow() + timedelta(minutes=2))
    db.session.rollback()


def test_a_message_failing_for_a_day_ends_failed_never_dropped(app, deliveries):
    """The sweep hands each retry out when it is due, and only then, until the last."""
    pi = f.user()
    message = outbox_row(pi)
    db.session.commit()
    now = utcnow()
    with smtp_down(app):
        assert deliver_message(message.id) == "retry"
        for _ in range(MAX_ATTEMPTS - 1):
            due = fresh(message).next_attempt_at
            assert message.id not in messages_to_requeue(due - timedelta(seconds=1))
            assert message.id in messages_to_requeue(due)
            db.session.rollback()
            deliver_message(message.id)
    message = fresh(message)
    assert message.status == MessageStatus.failed and message.attempts == MAX_ATTEMPTS
    assert message.id not in messages_to_requeue(now + timedelta(days=3))


def test_sweep_picks_old_queued_messages_and_stale_claims(app, deliveries):
    pi = f.user()
    old = outbox_row(pi, created_ago=timedelta(minutes=5))
    fresh_queued = outbox_row(pi)
    stale_claim = outbox_row(pi, status=MessageStatus.sending, created_ago=timedelta(minutes=30),
                             claimed_ago=timedelta(minutes=20), attempts=1)
    live_claim = outbox_row(pi, status=MessageStatus.sending, created_ago=timedelta(minutes=30),
                            claimed_ago=timedelta(minutes=1), attempts=1)
    held = outbox_row(pi, status=MessageStatus.held, created_ago=timedelta(hours=1))
    sent = outbox_row(pi, status=MessageStatus.sent, created_ago=timedelta(hours=1), attempts=1)
    failed = outbox_row(pi, status=MessageStatus.failed, created_ago=timedelta(hours=1),
                        attempts=MAX_ATTEMPTS)
    db.session.commit()

    assert set(messages_to_requeue()) == {old.id, stale_claim.id}
    assert stale_claim.status == MessageStatus.queued
    assert live_claim.status == MessageStatus.sending
    db.session.rollback()  # only looked; the periodic task below does it for real

    # The periodic task does the same, commits, and delivers each one once (one at a
    # time here: a delivery of several waiting messages at once is tested in test_smtp.py).
    with configured(app, MAIL_BATCH=1):
        assert requeue_outbox.delay().get() >= 2
    assert sorted(deliveries) == sorted([(old.id, "sent"), (stale_claim.id, "sent")])
    assert fresh(old).status == MessageStatus.sent and fresh(old).attempts == 1
    assert fresh(stale_claim).status == MessageStatus.sent and fresh(stale_claim).attempts == 2
    untouched = [(fresh_queued, MessageStatus.queued), (live_claim, MessageStatus.sending),
                 (held, MessageStatus.held), (sent, MessageStatus.sent),
                 (failed, MessageStatus.failed)]
    for message, status in untouched:
        assert fresh(message).status == status


def test_held_message_waits_for_release_and_is_sent_once(deliveries):
    pi, staff = f.user(), f.user()
    message = queue_withdrawal_notice(pi, "decision-1", hold=True)
    db.session.commit()
    assert deliveries == []
    assert fresh(message).status == MessageStatus.held
    assert messages_to_requeue(utcnow() + timedelta(days=1)) == []

    message = fresh(message)
    assert release_message(message, staff) is True
    db.session.commit()
    message = fresh(message)
    assert message.status == MessageStatus.sent and message.attempts == 1
    assert message.released_by_id == staff.id and message.released_at is not None

    assert release_message(message, staff) is False
    db.session.commit()
    assert deliveries == [(message.id, "sent")]
    assert fresh(message).attempts == 1


def test_a_shorter_claim_lease_hands_a_dead_workers_claim_out_sooner(app, monkeypatch):
    pi = f.user()
    claim = outbox_row(pi, status=MessageStatus.sending, created_ago=timedelta(minutes=2),
                       claimed_ago=timedelta(seconds=10), attempts=1)
    db.session.commit()
    assert claim.id not in messages_to_requeue()  # 3 minutes by default
    db.session.rollback()
    monkeypatch.setitem(app.config, "MAIL_CLAIM_LEASE_SECONDS", 5)
    assert claim.id in messages_to_requeue()


def test_a_transactions_messages_are_delivered_by_one_task_a_batch(app, deliveries):
    """Messages written in one transaction are one delivery task per MAIL_BATCH of them
    (a row of the task outbox each), written at commit: 7 messages with batches of 3 are
    three tasks, each sending its own; a rollback queues none."""
    from cfp.core.tasks import QueuedTask

    user = f.user()
    db.session.commit()
    queue_withdrawal_notice(user, f"rolled-back-{uuid.uuid4()}")
    db.session.rollback()
    with configured(app, MAIL_BATCH=3):
        rows = [queue_withdrawal_notice(user, f"batch-{uuid.uuid4()}") for _ in range(7)]
        assert db.session.scalar(sa.select(sa.func.count(QueuedTask.id))) == 0  # not before commit
        db.session.commit()  # eager Celery: the tasks run at once
    tasks = db.session.scalars(sa.select(QueuedTask).order_by(QueuedTask.id)).all()
    ids = [row.id for row in rows]
    assert [(t.name, t.args) for t in tasks] == [("mail.deliver_email", ids[0:3]),
                                                 ("mail.deliver_email", ids[3:6]),
                                                 ("mail.deliver_email", ids[6:7])]
    assert [retval for _first, retval in deliveries] == [["sent"] * 3, ["sent"] * 3, "sent"]
    statuses = db.session.scalars(sa.select(OutboxMessage.status).where(OutboxMessage.id.in_(ids))).all()
    assert statuses == [MessageStatus.sent] * 7
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 7  # the rolled back one is gone


def test_a_batch_whose_messages_another_delivery_took_says_so_for_each(app):
    """A delivery task of several messages reports each one's outcome: the one sent
    meanwhile by another delivery is skipped, the others are sent."""
    user = f.user()
    with configured(app, MAIL_BATCH=1):
        rows = [queue_withdrawal_notice(user, f"each-{uuid.uuid4()}", hold=True) for _ in range(3)]
        db.session.commit()
        for row in rows:
            row.status = MessageStatus.queued
        db.session.commit()
        assert deliver_message(rows[1].id) == "sent"
    assert deliver_email.run(*(row.id for row in rows)) == ["sent", "skipped", "sent"]
