"""The task outbox: a task an operation asks for is a row of its transaction, relayed to
the broker after commit; when the broker is down the row waits (the request does not),
and the sweep relays it once the broker is back; a task whose worker died is relayed
again after its lease; each task's row is done once the task ran."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.core.tasks import LEASE, QueuedTask, TaskStatus, queue_task, relay_due, tasks_to_relay
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import EligibilityCheck
from tests import factories as f
from tests.workers.test_outbox import closed_port


def fresh(row):
    return db.session.get(QueuedTask, row.id, populate_existing=True)


def test_a_task_is_a_row_of_the_transaction_and_a_rollback_asks_for_nothing():
    queue_task("reviews.recompute_ranking", 1, 2)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(QueuedTask.id))) == 0


def test_a_committed_task_runs_and_its_row_is_done():
    cn, be, committee = f.world()
    pi = f.user(agency=cn)
    proposal = f.proposal(f.call(committee), pi, f.user(agency=be), state=f.ProposalState.submitted)
    row = queue_task("proposals.evaluate_eligibility_rules", proposal.id)
    db.session.commit()  # eager Celery: the task runs at once
    row = fresh(row)
    assert row.status == TaskStatus.done and row.relays == 1 and row.done_at is not None
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))
                             .filter_by(proposal_id=proposal.id)) == 2


def test_with_the_broker_down_the_row_waits_and_the_sweep_relays_it_once_it_is_back(app, database_url):
    """The same app, but its broker is a port where nothing listens (Redis down)."""
    import secrets

    from cfp import create_app
    from workers import wire

    cn, be, committee = f.world()
    proposal = f.proposal(f.call(committee), f.user(agency=cn), f.user(agency=be),
                          state=f.ProposalState.submitted)
    db.session.commit()
    down = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                       "SECRET_KEY": secrets.token_hex(32),
                       "CELERY": {"task_always_eager": False, "broker_url": f"redis://127.0.0.1:{closed_port()}/0",
                                  "broker_connection_timeout": 1, "broker_connection_max_retries": 0}})
    wire(down.extensions["celery"])
    try:
        with down.app_context():
            row_id = queue_task("proposals.evaluate_eligibility_rules", proposal.id).id
            db.session.commit()  # the relay fails: logged, the commit stands
    finally:
        # create_app made the new app's Celery the default and the current one: undo both,
        # or tests run after this one send their tasks to the closed port.
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
    row = db.session.get(QueuedTask, row_id, populate_existing=True)
    assert row.status == TaskStatus.queued and row.relays == 0 and "Error" in row.last_error
    assert _evaluated(proposal) == 0  # the rules have not run
    # Within the grace left to the after-commit relay, the sweep leaves it; then relays it
    # (here to the test app's eager Celery: the broker is back).
    assert row.id not in [t.id for t in tasks_to_relay(utcnow())]
    assert relay_due(utcnow() + timedelta(minutes=1)) == 1
    assert fresh(row).status == TaskStatus.done
    assert _evaluated(proposal) == 2  # each side's check has its rules' results
    assert relay_due(utcnow() + timedelta(days=1)) == 0  # done: never relayed again


def test_with_the_broker_down_a_request_tries_it_once_and_leaves_the_rest_to_the_sweep(app, database_url):
    """Redis refusing connections: the first relay fails at once (no reconnection
    attempts), and the request's other tasks are not tried; all wait for the sweep."""
    import secrets

    from cfp import create_app

    down = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                       "SECRET_KEY": secrets.token_hex(32),
                       "CELERY": {"task_always_eager": False,
                                  "broker_url": f"redis://127.0.0.1:{closed_port()}/0"}})
    try:
        assert down.extensions["celery"].conf.broker_transport_options["max_retries"] == 0
        with down.app_context():
            ids = [queue_task("reviews.recompute_ranking", n, 1).id for n in range(3)]
            db.session.commit()
    finally:
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
    rows = [db.session.get(QueuedTask, i, populate_existing=True) for i in ids]
    assert [r.status for r in rows] == [TaskStatus.queued] * 3
    assert "Connection refused" in rows[0].last_error
    assert [r.last_error for r in rows[1:]] == [None, None]  # not tried: the broker was just down
    assert sorted(t.id for t in tasks_to_relay(utcnow() + timedelta(minutes=1))) == ids


def _evaluated(proposal) -> int:
    return db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id)).where(
        EligibilityCheck.proposal_id == proposal.id, EligibilityCheck.rule_results.is_not(None)))


def test_a_task_relayed_but_not_done_within_its_lease_is_relayed_again():
    row = QueuedTask(name="reviews.recompute_ranking", args=[1, 2], relays=1,
                     created_at=utcnow() - timedelta(hours=1), relayed_at=utcnow() - timedelta(minutes=5))
    db.session.add(row)
    db.session.commit()
    assert [t.id for t in tasks_to_relay(utcnow())] == []  # its worker may still be at it
    assert [t.id for t in tasks_to_relay(utcnow() + LEASE)] == [row.id]


def test_the_leases_default_to_15_and_3_minutes_and_can_be_set_shorter(app, monkeypatch):
    """A test or an installation with quick tasks can take up a dead worker's work sooner
    (CFP_TASK_LEASE_SECONDS, CFP_MAIL_CLAIM_LEASE_SECONDS); the defaults stay."""
    from cfp.config import ConfigurationError, load_config
    from cfp.core.outbox import CLAIM_LEASE, claim_lease
    from cfp.core.tasks import task_lease

    config = load_config(app.instance_path)
    assert (config["TASK_LEASE_SECONDS"], config["MAIL_CLAIM_LEASE_SECONDS"]) == (900, 180)
    assert (task_lease(), claim_lease()) == (LEASE, CLAIM_LEASE)
    monkeypatch.setenv("CFP_TASK_LEASE_SECONDS", "5")
    monkeypatch.setenv("CFP_MAIL_CLAIM_LEASE_SECONDS", "4")
    config = load_config(app.instance_path)
    assert (config["TASK_LEASE_SECONDS"], config["MAIL_CLAIM_LEASE_SECONDS"]) == (5, 4)
    monkeypatch.setenv("CFP_TASK_LEASE_SECONDS", "0")
    with pytest.raises(ConfigurationError, match="CFP_TASK_LEASE_SECONDS"):
        load_config(app.instance_path)

    row = QueuedTask(name="reviews.recompute_ranking", args=[1, 2], relays=1,
                     created_at=utcnow() - timedelta(hours=1), relayed_at=utcnow() - timedelta(seconds=10))
    db.session.add(row)
    db.session.commit()
    assert [t.id for t in tasks_to_relay(utcnow())] == []
    monkeypatch.setitem(app.config, "TASK_LEASE_SECONDS", 5)
    assert task_lease() == timedelta(seconds=5)
    assert [t.id for t in tasks_to_relay(utcnow())] == [row.id]


@pytest.mark.real_commits  # the web app commits on a connection of its own
def test_with_redis_down_a_production_relay_tries_the_broker_once_and_leaves_the_row_queued(
        app, database_url, monkeypatch):
    """A request must not wait on a broker that is down: the relay after commit makes one
    connection attempt (kombu's default retries held each submission ~6 s per task)."""
    import secrets
    import socket
    import threading

    from cfp import create_app

    attempts = []
    listener = socket.socket()  # answers the connection, then hangs up: Redis is broken
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def refuse():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            attempts.append(1)
            connection.close()

    threading.Thread(target=refuse, daemon=True).start()
    monkeypatch.setenv("CFP_REDIS_URL", f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    web = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SECRET_KEY": secrets.token_hex(32)})  # the broker settings of production
    try:
        with web.app_context():
            row_id = queue_task("tasks.relay").id
            db.session.commit()
            db.session.remove()
    finally:
        listener.close()
        web.extensions["celery"].close()
        with web.app_context():
            db.engine.dispose()
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
    row = db.session.get(QueuedTask, row_id)
    assert row.status == TaskStatus.queued and row.relays == 0 and "Error" in row.last_error
    assert len(attempts) == 1


def test_a_transactions_tasks_are_relayed_after_commit_and_noted_together():
    """Three tasks of one transaction: each relayed once (eager Celery runs them), their
    relays noted by one statement after the commit."""
    from sqlalchemy import event

    cn, be, committee = f.world()
    proposals = [f.proposal(f.call(committee), f.user(agency=cn), f.user(agency=be),
                            state=f.ProposalState.submitted) for _ in range(3)]
    db.session.commit()
    rows = [queue_task("proposals.evaluate_eligibility_rules", p.id) for p in proposals]
    notes = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE TASK_OUTBOX SET RELAYED_AT"):
            notes.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    for row in rows:
        row = fresh(row)
        assert row.relays == 1 and row.relayed_at is not None and row.status == TaskStatus.done
    assert len(notes) == 1


def test_a_task_asked_for_twice_in_one_transaction_is_queued_once():
    """Tasks are idempotent and run on what the transaction committed: the same task with
    the same arguments twice in one transaction is one row, run once; another argument or
    another transaction is another row."""
    first = queue_task("reviews.recompute_ranking", 1, 2)
    assert queue_task("reviews.recompute_ranking", 1, 2) is first
    other = queue_task("reviews.recompute_ranking", 1, 3)
    assert other is not first
    db.session.rollback()
    again = queue_task("reviews.recompute_ranking", 1, 2)
    assert again is not first
    assert db.session.scalar(sa.select(sa.func.count(QueuedTask.id))) == 1
