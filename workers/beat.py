"""One beat, even when two are started by mistake.

`SingleBeat` sends the schedule only while it holds the beat lock; a second beat
process stands by, trying again every few seconds, and takes over when the first one
stops or dies. The lock is PostgreSQL's session advisory lock on a connection the beat
keeps open (released by the server when the process or its connection dies); on the
embedded SQLite database, a file lock in the instance folder (released by the kernel).
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from celery.beat import Scheduler

logger = logging.getLogger(__name__)
LOCK_KEY = 0x63667062  # "cfpb": the advisory lock's number, the same for every beat
STANDBY_SECONDS = float(os.environ.get("CFP_BEAT_STANDBY_SECONDS", "5"))


class PostgresLock:
    def __init__(self, engine):
        self.engine = engine
        self.connection = None

    def acquire(self) -> bool:
        try:
            self.connection = self.connection or self.engine.connect()
            got = self.connection.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))).scalar()
            self.connection.commit()
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("beat: the database does not answer, no schedule sent: %s", exc)
            self.release()
            return False
        return bool(got)

    def still_held(self) -> bool:
        """The lock lives as long as its connection: check that it still answers."""
        try:
            self.connection.execute(sa.select(1))
            self.connection.commit()
            return True
        except sa.exc.SQLAlchemyError:
            self.release()
            return False

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()  # ends the session, and its advisory locks
            except sa.exc.SQLAlchemyError:
                pass
            self.connection = None


class FileLock:
    def __init__(self, path: Path):
        self.path = path
        self.handle = None

    def acquire(self) -> bool:
        handle = open(self.path, "a")  # noqa: SIM115  (held open as long as the lock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def still_held(self) -> bool:
        return self.handle is not None

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def beat_lock():
    from cfp.extensions import db
    from workers.app import flask_app

    with flask_app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine)
    return FileLock(Path(flask_app.instance_path) / "beat.lock")


class SingleBeat(Scheduler):
    """Celery's scheduler, sending only while it holds the beat lock. The schedule's
    last runs are kept in memory, not in a shelve file that two beats would share:
    every task on it is a sweep that is safe to run at any time, and a beat that
    starts (or takes over) waits one interval before the first run of each entry."""

    def __init__(self, *args, **kwargs):
        self.lock = beat_lock()
        self.held = False
        self.said_standby = False
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        if self.held and not self.lock.still_held():
            self.held = False
            logger.warning("beat: lost the beat lock; standing by")
        if not self.held:
            self.held = self.lock.acquire()
            if not self.held:
                if not self.said_standby:
                    logger.warning("beat: another beat holds the beat lock; standing by "
                                   "(trying again every %s s)", STANDBY_SECONDS)
                    self.said_standby = True
                return STANDBY_SECONDS
            logger.warning("beat: holding the beat lock (pid %s); sending the schedule", os.getpid())
            self.said_standby = False
        return super().tick(*args, **kwargs)

    def close(self):
        super().close()
        self.lock.release()
