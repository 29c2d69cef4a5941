"""The embedded mode's SQLite file is written by the web process and the worker at once.

A request that reads and then writes (logging in reads the account, then records the
attempt) must not fail because the worker committed in between: with a deferred BEGIN,
SQLite (WAL) refuses the late write at once ("database is locked", no busy wait), which a
browser test met on the login right after registering (the worker had just delivered the
verification email). A request takes the write lock when it begins; a worker does not.
"""
from __future__ import annotations

import sqlite3
import uuid

import pytest
import sqlalchemy as sa

from cfp import create_app
from cfp.extensions import db


@pytest.fixture
def sqlite_app(tmp_path):
    path = tmp_path / "embedded.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": uuid.uuid4().hex,
                      "CELERY": {"task_always_eager": True}})
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(sa.text("INSERT INTO counter VALUES (0)"))
        conn.commit()
    yield app, path
    with app.app_context():
        db.engine.dispose()


def _other_process_writes(path) -> bool:
    """The worker, on its own connection: True if its write went through."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("UPDATE counter SET n = n + 100")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_a_post_that_reads_then_writes_is_not_refused_when_the_worker_wrote_between(sqlite_app):
    app, path = sqlite_app
    with app.test_request_context("/login", method="POST"), db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT n FROM counter")) == 0  # the read
        other_wrote = _other_process_writes(path)
        conn.execute(sa.text("UPDATE counter SET n = n + 1"))  # the write after it
        conn.commit()
    other = sqlite3.connect(path)
    if not other_wrote:  # it waited for the request (its busy timeout would retry it)
        other.execute("UPDATE counter SET n = n + 100")
        other.commit()
    assert other.execute("SELECT n FROM counter").fetchone() == (101,)
    other.close()


def test_a_verification_link_a_get_that_writes_is_not_refused_either(sqlite_app):
    app, path = sqlite_app
    with app.test_request_context("/verify/token", method="GET"), db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT n FROM counter")) == 0
        _other_process_writes(path)
        conn.execute(sa.text("UPDATE counter SET n = n + 1"))
        conn.commit()


def test_once_a_request_committed_its_reading_to_render_does_not_hold_the_lock(sqlite_app):
    """After the view's commit, the relay of its tasks writes from a session of its own
    while the request's session reads on: waiting for each other would stall the request."""
    app, path = sqlite_app
    with app.test_request_context("/reviews/automatic/jobs/1/approve", method="POST"), \
            db.engine.connect() as conn:
        conn.execute(sa.text("UPDATE counter SET n = n + 1"))
        conn.commit()
        assert conn.scalar(sa.text("SELECT n FROM counter")) == 1  # rendering
        assert _other_process_writes(path)


def test_a_worker_left_idle_in_a_transaction_does_not_hold_the_write_lock(sqlite_app):
    app, path = sqlite_app
    with app.app_context(), db.engine.connect() as conn:  # no request: a task, a script
        assert conn.scalar(sa.text("SELECT n FROM counter")) == 0
        assert _other_process_writes(path)


def test_a_savepoint_released_runs_no_after_commit_callback(sqlite_app):
    """Approving an automatic assignment invites each pair in a savepoint; their tasks are
    relayed when the request commits, not when a savepoint is released (then the relay
    waited on the request's own write lock, and a later refusal could not call them back)."""
    from cfp.core.aftercommit import after_commit

    app, _path = sqlite_app
    ran = []
    with app.test_request_context("/reviews/automatic/jobs/1/approve", method="POST"):
        db.session.execute(sa.text("SELECT 1"))
        with db.session.begin_nested():
            after_commit(lambda: ran.append("relayed"))
        assert ran == []
        db.session.commit()
        assert ran == ["relayed"]
        db.session.remove()


def test_the_readiness_probe_answers_while_a_request_holds_the_write_lock(sqlite_app):
    """/readyz reads on connections of its own: they never wait for the write lock."""
    from cfp.core.checks import check_database

    app, path = sqlite_app
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with app.test_request_context("/readyz"):
            assert check_database().ok
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.real_commits  # the task's session is its own app's, not the test's transaction
def test_a_task_refused_by_the_worker_s_late_write_is_run_again(sqlite_app):
    """A task reads, the web process commits, the task writes: SQLite refuses the write at
    once (its snapshot is stale). The browser run met it when the automatic assignment's
    task read its job while the request noted the relay; the task failed and the job said
    "Waiting for a worker…" for ever. Such a task runs again, from the start."""
    app, path = sqlite_app
    celery_app = app.extensions["celery"]
    attempts = []

    @celery_app.task(name="tests.read_then_write", bind=True, shared=False)
    def read_then_write(self):
        assert db.session.scalar(sa.text("SELECT n FROM counter")) is not None
        if not attempts:  # the web process commits between the read and the write, once
            assert _other_process_writes(path)
        attempts.append(self.request.retries)
        db.session.execute(sa.text("UPDATE counter SET n = n + 1"))
        db.session.commit()
        return "written"

    result = read_then_write.apply()
    assert result.get() == "written"
    assert attempts == [0, 1]
    other = sqlite3.connect(path)
    assert other.execute("SELECT n FROM counter").fetchone() == (101,)
    other.close()


def test_a_job_writing_its_progress_is_not_refused_when_the_web_wrote_since_it_last_read(sqlite_app):
    """The assignment job (a worker) writes its progress many times during a run and reads
    the cancel flag after each write; a request that wrote in between (every page view of
    a logged-in user does) must not make the next progress write fail: the job's read
    transaction ends before it writes (a floor run on the demo failed that way)."""
    from sqlalchemy.orm import scoped_session, sessionmaker

    from cfp.core.jobs import Job, JobStatus
    from cfp.reviews.automatic import JOB_KIND, _step

    app, path = sqlite_app
    original = db.session
    with app.app_context():
        # The worker's own session on this file (the tests' session is bound to their database).
        db.session = scoped_session(sessionmaker(bind=db.engine), scopefunc=original.registry.scopefunc)
        try:
            db.create_all()
            job = Job(kind=JOB_KIND, status=JobStatus.running, progress=0, params={})
            db.session.add(job)
            db.session.commit()
            _step(job.id, 5, "first phase")
            assert db.session.scalar(sa.select(Job.message).where(Job.id == job.id)) == "first phase"
            web = sqlite3.connect(path, timeout=5, isolation_level=None)
            web.execute("UPDATE counter SET n = n + 1")
            web.close()
            _step(job.id, 10, "second phase")
            assert db.session.scalar(sa.select(Job.progress).where(Job.id == job.id)) == 10
        finally:
            db.session.remove()
            db.session = original

