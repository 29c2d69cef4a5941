"""End to end with a real Celery worker process over real Redis: the web app
commits and enqueues, the worker (another process, same database) does the work.

These tests commit for real (`real_commits`); the tables are emptied afterwards.
"""
from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from cfp import create_app
from cfp.core.outbox import MessageStatus, OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalState
from cfp.reviews.models import RankingEntry
from tests import factories as f
from tests.workers.process import Worker, run_worker

ROOT = Path(__file__).resolve().parents[2]
# A Redis database of its own, flushed before and after; not the one conftest names.
BROKER_URL = os.environ.get("CFP_TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/14")  # one per concurrent run
READY_TIMEOUT = 30
WORK_TIMEOUT = 30

pytestmark = pytest.mark.real_commits


@pytest.fixture(scope="module")
def broker():
    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.flushdb()
        yield BROKER_URL
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(scope="module")
def worker(app, database_url, instance_dir, broker, tmp_path_factory):
    """`celery -A workers.app worker` in its own process, on the test database."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with run_worker({
        "CFP_DATABASE_URL": database_url,
        "CFP_REDIS_URL": broker,
        "CFP_INSTANCE_PATH": str(instance_dir),
        "CFP_SECRET_KEY": app.secret_key,  # a production start: web and worker share one key
    }, log) as worker:
        yield worker


@pytest.fixture(scope="module")
def web(app, database_url, instance_dir, broker):
    """A second app, as the web process runs: same database, tasks sent to the
    worker's broker instead of run eagerly."""
    web = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "e2e-" + uuid.uuid4().hex,
        "UPLOAD_FOLDER": str(instance_dir / "uploads"),
        "BASE_URL": "http://localhost",
        "CELERY": {"broker_url": broker, "broker_transport_options": {},
                   "task_always_eager": False},
    })
    _make_current(app.extensions["celery"])  # create_app made the web Celery the default
    try:
        yield web
    finally:
        web.extensions["celery"].close()
        with web.app_context():
            db.engine.dispose()


def _make_current(celery_app) -> None:
    celery_app.set_current()
    celery_app.set_default()


@contextmanager
def enqueuing_to(web, app):
    """Tasks queued in this block (by `shared_task` proxies) go to the web app's
    broker; afterwards the test app's eager Celery is current again."""
    _make_current(web.extensions["celery"])
    try:
        yield
    finally:
        _make_current(app.extensions["celery"])


def wait_for(worker: Worker, what: str, probe):
    """Poll the database until `probe()` is truthy (bounded)."""
    deadline = time.monotonic() + WORK_TIMEOUT
    while True:
        db.session.rollback()  # a fresh snapshot each time (SQLite keeps the old one)
        result = probe()
        if result:
            return result
        worker.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WORK_TIMEOUT}s waiting for {what}:\n{worker.output()}")
        time.sleep(0.1)


def succeeded(worker: Worker, task: str, since: int, count: int) -> list[str]:
    """The results the worker logged for `task` since `since`, once it logged `count` of
    them (bounded): a task's own commit is seen before its line reaches the log."""
    deadline = time.monotonic() + WORK_TIMEOUT
    while len(worker.succeeded(task, since)) < count and time.monotonic() < deadline:
        worker.check_alive()
        time.sleep(0.1)
    time.sleep(0.5)  # and nothing more comes
    return worker.succeeded(task, since)


def _researchers():
    cn, be, committee = f.world()
    call = f.call(committee)
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei")
    pi_be = f.user(Role.researcher, agency=be, name="Claire Dubois")
    return cn, be, call, pi_cn, pi_be


def test_submission_receipts_are_sent_by_the_worker_once_each(app, web, worker):
    _cn, _be, call, pi_cn, pi_be = _researchers()
    proposal = f.proposal(call, pi_cn, pi_be)
    db.session.commit()
    proposal_id, version = proposal.id, proposal.version
    emails = {pi_cn.email, pi_be.email}
    log_start = len(worker.output())

    clients = {}
    with enqueuing_to(web, app):
        for pi in (pi_cn, pi_be):  # both PIs confirm the version, one submits
            clients[pi] = web.test_client()
            f.login(clients[pi], pi)
            response = clients[pi].post(f"/proposals/{proposal_id}/confirm",
                                        data={"version": str(version), "agree": "y"})
            assert response.status_code == 302
        response = clients[pi_cn].post(f"/proposals/{proposal_id}/submit", data={"submit": "y"})
        assert response.status_code == 302

    db.session.rollback()
    assert db.session.get(Proposal, proposal_id).state == ProposalState.submitted

    def receipts():
        rows = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.template == "submission_receipt")
        ).all()
        done = len(rows) == 2 and all(r.status == MessageStatus.sent for r in rows)
        return rows if done else None

    rows = wait_for(worker, "both submission receipts to be sent", receipts)
    assert {r.recipient for r in rows} == emails
    for row in rows:
        assert row.attempts == 1
        assert row.transport == "outbox"
        assert row.claimed_at is not None and row.sent_at is not None
    # Both receipts were written by the submission's transaction: one delivery task sends
    # them over one connection (cfp.core.tasks.queue_in_batch).
    assert succeeded(worker, "mail.deliver_email", log_start, 1) == ["['sent', 'sent']"]


def test_submitted_review_has_the_worker_recompute_the_ranking(app, web, worker):
    cn, be, call, pi_cn, pi_be = _researchers()
    proposal = f.proposal(call, pi_cn, pi_be, state=ProposalState.in_review)
    reviewer = f.reviewer(cn)
    assignment = f.assignment(proposal, reviewer)
    excellence, impact = call.criteria  # weights 2 and 1
    db.session.commit()
    call_id, agency_id, proposal_id = call.id, cn.id, proposal.id
    log_start = len(worker.output())

    client = web.test_client()
    f.login(client, reviewer)
    with enqueuing_to(web, app):
        response = client.post(f"/reviews/assignments/{assignment.id}/review", data={
            f"score_{excellence.id}": "4.5", f"score_{impact.id}": "3",
            "comments_to_applicants": "A sound plan.", "confidential_comments": "",
            "recommendation": "", "submit": "y",
        })
    assert response.status_code == 302, response.data[:500]

    entry = wait_for(worker, "the ranking entry", lambda: db.session.scalar(
        sa.select(RankingEntry).filter_by(call_id=call_id, agency_id=agency_id)))
    assert entry.proposal_id == proposal_id
    assert entry.reviews_count == 1
    assert entry.mean_score == Decimal("4.000")  # (2 × 4.5 + 1 × 3) / 3
    assert entry.rank == 1 and entry.passed is True
    assert succeeded(worker, "reviews.recompute_ranking", log_start, 1) == ["1"]
    # The other side has no reviews yet and was not asked to rank.
    other_side = sa.select(RankingEntry).filter_by(call_id=call_id, agency_id=be.id)
    assert db.session.scalar(other_side) is None
