"""Faults, end to end with real processes: a Redis server of the test's own (stopped and
started again), real Celery workers, a real SMTP server (aiosmtpd) counting what arrives
by Message-ID, and submissions through the web app.

- A Redis outage during a burst of submissions: every request succeeds, the tasks wait
  as rows, and once Redis is back the relay sweep hands them to a worker, which runs each
  once (eligibility rules evaluated once, each receipt delivered once).
- A worker killed (kill -9) in the middle of an SMTP delivery: its claim and its task
  expire after their lease, a second worker takes them up, each message arrives once.
"""
from __future__ import annotations

import secrets
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from cfp import create_app
from cfp.core.outbox import MessageStatus
from cfp.core.tasks import FIRST_RELAY_GRACE, QueuedTask, TaskStatus, relay_due
from cfp.core.types import utcnow
from cfp.extensions import db
from tests.factories import PASSWORD
from tests.workers.hosts import (
    Inbox,
    RedisServer,
    app_env,
    assert_done_once,
    free_port,
    held_message,
    outcomes,
    prepared_proposals,
    smtp_server,
    start_worker,
    wait_until,
    work_left,
)
from tests.workers.test_worker_e2e import _make_current, enqueuing_to

pytestmark = pytest.mark.real_commits
MAIL_FROM = "cfp@committee.example"
LEASE_SECONDS = 3  # both leases, so that a dead worker's work is taken up within seconds


@pytest.fixture
def servers(tmp_path):
    """A private Redis (the broker) and an SMTP server, on 127.0.0.1."""
    broker = RedisServer("127.0.0.1", free_port(), tmp_path / "redis.log")
    broker.start()
    inbox = Inbox()
    smtp_port = free_port()
    controller = smtp_server(inbox, "127.0.0.1", smtp_port)
    try:
        yield broker, inbox, smtp_port
    finally:
        inbox.release()
        controller.stop()
        broker.stop()


@pytest.fixture
def web(app, database_url, servers, monkeypatch):
    """The web app in this process, with production's broker settings (CFP_REDIS_URL)
    but the test's database; its requests commit for real."""
    monkeypatch.setenv("CFP_REDIS_URL", servers[0].url)
    web = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": secrets.token_hex(32), "BASE_URL": "http://localhost", "SMTP_HOST": "",
        "CELERY": {"task_always_eager": False},
    })
    _make_current(app.extensions["celery"])  # create_app made the web Celery the default
    try:
        yield web
    finally:
        web.extensions["celery"].close()
        with web.app_context():
            db.engine.dispose()


def worker_env(app, database_url, broker, smtp_port, instance):
    return app_env(database_url=database_url, broker_url=broker.url, secret_key=app.secret_key,
                   instance=instance, CFP_SMTP_HOST="127.0.0.1", CFP_SMTP_PORT=smtp_port,
                   CFP_MAIL_FROM=MAIL_FROM, CFP_TASK_LEASE_SECONDS=LEASE_SECONDS,
                   CFP_MAIL_CLAIM_LEASE_SECONDS=LEASE_SECONDS)


def submit_all(web, app, proposals) -> list[float]:
    """Each PI logs in and submits through the web app; how long each submission took."""
    took = []
    with enqueuing_to(web, app):
        for proposal_id, email in proposals:
            client = web.test_client()
            assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
            start = time.monotonic()
            response = client.post(f"/proposals/{proposal_id}/submit", data={"submit": "y"})
            took.append(time.monotonic() - start)
            assert response.status_code == 302, response.data[:300]
    return took


def test_a_redis_outage_during_a_burst_of_submissions_loses_nothing_and_runs_each_task_once(
        app, database_url, servers, web, tmp_path):
    broker, inbox, smtp_port = servers
    worker = start_worker("outage", worker_env(app, database_url, broker, smtp_port, tmp_path / "w"),
                          tmp_path / "worker.log")
    try:
        worker.wait_ready()
        proposals = prepared_proposals(6)

        broker.stop()  # Redis is down during the whole burst
        took = submit_all(web, app, proposals)
        print(f"\n{len(took)} submissions with Redis down: slowest {max(took):.2f}s, "
              f"mean {sum(took) / len(took):.2f}s")
        db.session.rollback()
        rows = db.session.scalars(sa.select(QueuedTask)).all()
        assert len(rows) == 2 * len(proposals)  # the two receipts' delivery, the eligibility rules
        for row in rows:  # kept, not relayed
            assert row.status == TaskStatus.queued and row.relays == 0
        # The first relay that met the outage kept the reason; after it, a process leaves its
        # next relays to the sweep for a few seconds instead of trying the broker for each.
        assert any("Connection refused" in (row.last_error or "") for row in rows)
        assert inbox.message_ids() == Counter()

        broker.start()  # back, empty (it kept nothing on disk)
        with web.app_context():  # the sweep, as beat runs it once the grace has passed
            assert relay_due(utcnow() + FIRST_RELAY_GRACE) == len(rows)
        wait_until("every task to be done", lambda: not work_left(), on_timeout=worker.output)
        assert_done_once([pid for pid, _ in proposals], inbox, MAIL_FROM)
        # Each delivery task ran once; one that found its message sent by another's batch
        # (cfp/core/outbox.py: a delivery sends the messages waiting with it) says "skipped".
        runs = worker.succeeded("mail.deliver_email")
        # One task a submission (its two receipts), each ran once.
        assert len(runs) == len(proposals) and set(outcomes(runs)) <= {"sent", "skipped"}
        assert worker.succeeded("proposals.evaluate_eligibility_rules") == ["2"] * len(proposals)
        for row in db.session.scalars(sa.select(QueuedTask)):
            assert row.relays == 1  # relayed once, by the sweep
        with web.app_context():
            assert relay_due(utcnow() + FIRST_RELAY_GRACE * 100) == 0  # done: never again
    finally:
        worker.stop()


def sweep_until_done(celery_app, *workers) -> None:
    """What beat does, every second instead of every minute: ask a worker to relay the
    tasks past their lease and to hand out expired mail claims; until all is done."""
    def done():
        if not work_left():
            return True
        celery_app.send_task("tasks.relay")
        celery_app.send_task("mail.requeue_outbox")
        return False

    wait_until("the sweeps to finish the work", done, timeout=45, interval=1,
               on_timeout=lambda: "\n".join(w.output()[-3000:] for w in workers))


def test_a_worker_killed_mid_delivery_has_its_claim_taken_up_after_the_lease_and_each_message_sent_once(
        app, database_url, servers, web, tmp_path):
    broker, inbox, smtp_port = servers
    inbox.hold_from("127.0.0.1")  # the first message a worker delivers stays mid-send
    first = start_worker("first", worker_env(app, database_url, broker, smtp_port, tmp_path / "w1"),
                         tmp_path / "first.log")
    second = None
    try:
        first.wait_ready()
        proposals = prepared_proposals(3)
        submit_all(web, app, proposals)
        assert inbox.holding.wait(30), first.output()

        first.kill()  # kill -9, holding its claim
        inbox.release()
        held = held_message(inbox, MAIL_FROM)
        assert held.status == MessageStatus.sending and held.attempts == 1  # the dead worker's claim

        second = start_worker("second", worker_env(app, database_url, broker, smtp_port, tmp_path / "w2"),
                              tmp_path / "second.log")
        second.wait_ready()
        sweep_until_done(web.extensions["celery"], first, second)

        assert_done_once([pid for pid, _ in proposals], inbox, MAIL_FROM)
        held = held_message(inbox, MAIL_FROM)
        assert held.status == MessageStatus.sent and held.attempts == 2  # the dead worker's attempt, then the second worker's
        sent = first.succeeded("mail.deliver_email") + second.succeeded("mail.deliver_email")
        # Each message is sent once (assert_done_once); a run whose message was sent by an
        # earlier run or by another's batch found it sent: skipped.
        assert "sent" in outcomes(sent) and set(outcomes(sent)) <= {"sent", "skipped"}
    finally:
        first.kill()
        if second is not None:
            second.stop()
