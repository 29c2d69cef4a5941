"""Background work, durable and queued by name: cfp never imports `workers/`.

An operation that needs a task calls `queue_task(name, *ids)` with the task's name
(e.g. "reviews.recompute_ranking"). That writes a row of the task outbox in the same
transaction: a rollback queues nothing, a commit keeps it whatever happens next.
Once the transaction commits, the row is relayed to the broker without waiting on it
(a broker that does not answer within a second leaves the row queued); a beat task
(`tasks.relay`, every minute) relays the rows the broker never took and re-relays
those whose task has not finished within the lease (a worker that died). When a task
ends, its row is marked done. Tasks are idempotent, so a task relayed twice does its
work once, and one asked for twice with the same arguments in a transaction is queued
once. `queue_in_batch` gathers a transaction's items of one task (its emails) into a
row per batch, written as it commits. The tasks themselves live in `workers/`,
registered under these names.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from cfp.core.aftercommit import after_commit
from cfp.core.logs import current_request_id
from cfp.core.states import StateEnum
from cfp.core.types import IdMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db

logger = logging.getLogger(__name__)
HEADER = "cfp_task_id"
REQUEST_HEADER = "cfp_request_id"  # the web request that queued the task, for the logs
FIRST_RELAY_GRACE = timedelta(seconds=30)  # the after-commit relay's turn
LEASE = timedelta(minutes=15)  # a task relayed this long ago and not done is relayed again (default)
# After a relay fails, this process leaves the next ones to the sweep for a while:
# during an outage a request does not try the broker for each task it queued.
BROKER_DOWN_PAUSE = 5.0  # seconds
_RELAYS = "cfp_task_relays"  # Session.info: this transaction's relays (one after-commit callback)
_BATCHES = "cfp_task_batches"  # Session.info: this transaction's batched items per (task, size)


class TaskStatus(StateEnum):
    queued = "queued"  # written; relayed to the broker or waiting to be
    done = "done"


class QueuedTask(IdMixin, db.Model):
    """A task an operation asked for, kept until a worker has done it."""

    __tablename__ = "task_outbox"

    name: Mapped[str] = mapped_column(sa.String(100))
    args: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), default=TaskStatus.queued, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    relays: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # The request that queued it (cfp.core.logs), carried to the worker's log line.
    request_id: Mapped[str | None] = mapped_column(sa.String(64))


def send_task(name: str, *args, task_id: int | None = None, request_id: str | None = None) -> None:
    """Hand the task `name` to Celery now. A task registered in this process runs
    through its own object (so eager mode in tests runs it in place); otherwise it is
    sent by name to the broker, where a worker knows it. Raises if the broker is down."""
    celery_app = current_app.extensions["celery"]
    options = {"headers": {HEADER: task_id, REQUEST_HEADER: request_id}, "retry": False} \
        if task_id is not None else {}
    task = celery_app.tasks.get(name)
    if task is not None:
        task.apply_async(args=args, **options)
    else:
        celery_app.send_task(name, args=args, **options)


def queue_task(name: str, *args) -> QueuedTask:
    """Write the task `name` with id arguments as a row of this transaction; it is
    relayed to the broker once the transaction commits."""
    return _queue(db.session(), name, list(args))


def _queue(session: Session, name: str, args: list) -> QueuedTask:
    """The row of task `name` with `args`: a new one, or the one this transaction already
    queued with the same arguments (a task runs after the commit, on what it committed,
    and is idempotent: asked for twice, it is needed once; the demo's replay asked for
    a ranking recomputation 78 times in one transaction)."""
    relays = session.info.get(_RELAYS)
    if relays is None:
        relays = session.info[_RELAYS] = _Relays(session)
        after_commit(relays, session=session)
    key = (name, repr(args))
    if key in relays.queued:
        return relays.queued[key]
    request_id = current_request_id.get()
    row = QueuedTask(name=name, args=args, request_id=request_id)
    session.add(row)
    session.flush()
    relays.rows.append((row.id, name, list(args), request_id))
    relays.queued[key] = row
    return row


class _Relays:
    """The after-commit relay of a transaction's task rows: each handed to the broker,
    then the relays noted in one statement (not a transaction per task)."""

    def __init__(self, session: Session):
        self.session, self.rows = session, []
        self.queued: dict[tuple[str, str], QueuedTask] = {}  # (name, args) -> its row

    def __call__(self) -> None:
        self.session.info.pop(_RELAYS, None)
        relayed = [row[0] for row in self.rows if relay(*row, note=False)]
        if relayed:
            _note(relayed, relayed=True)


def queue_in_batch(name: str, item: int, size: int) -> None:
    """Queue the task `name` for `item` together with this transaction's other items for
    it: one row of the task outbox per `size` items (the task takes them all as its
    arguments), written as the transaction commits. A request that emails both PIs, or
    the release of a decision's letters, hands the workers one task, not one per message."""
    db.session().info.setdefault(_BATCHES, {}).setdefault((name, size), []).append(item)


@event.listens_for(Session, "before_commit")
def _write_batches(session: Session) -> None:
    """The batches of this transaction become task rows, in it (a savepoint's release
    waits for the transaction's end, as the after-commit relays do)."""
    if session.in_nested_transaction():
        return
    for (name, size), items in (session.info.pop(_BATCHES, None) or {}).items():
        for lo in range(0, len(items), size):
            _queue(session, name, items[lo:lo + size])


@event.listens_for(Session, "after_soft_rollback")
def _drop_batches(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:  # the after-commit callbacks are dropped too
        session.info.pop(_BATCHES, None)
        session.info.pop(_RELAYS, None)


def relay(task_id: int, name: str, args: list, request_id: str | None = None, *, sweep: bool = False,
          note: bool = True) -> bool:
    """Hand one queued task to the broker and note it (unless `note` is False: the caller
    notes it with others); False (the row waits for the sweep) when the broker does not
    take it, or failed a moment ago in this process (the sweep itself always tries).
    Never raises."""
    pause = current_app.extensions.setdefault("cfp_relay", {"broker_down_until": 0.0})
    if not sweep and time.monotonic() < pause["broker_down_until"]:
        return False  # the row is left as it is: the sweep relays it after FIRST_RELAY_GRACE
    try:
        send_task(name, *args, task_id=task_id, request_id=request_id)
    except Exception as exc:  # noqa: BLE001  (a broker outage: the row stays queued)
        pause["broker_down_until"] = time.monotonic() + BROKER_DOWN_PAUSE
        logger.warning("task %s (%s) not relayed, the sweep will: %s", task_id, name, exc)
        _note([task_id], relayed=False, error=f"{type(exc).__name__}: {exc}")
        return False
    if note:
        _note([task_id], relayed=True)
    return True


def _note(task_ids: list[int], *, relayed: bool, error: str | None = None) -> None:
    """Record a relay on the rows, in a session and transaction of its own (the caller's
    session has just committed and may not be used again yet)."""
    values = {"last_error": error}
    if relayed:
        values |= {"relayed_at": utcnow(), "relays": QueuedTask.relays + 1}
    with current_app.app_context():  # a session of its own
        try:
            db.session.execute(sa.update(QueuedTask).where(QueuedTask.id.in_(task_ids))
                               .values(**values).execution_options(synchronize_session=False))
            db.session.commit()
        except Exception:  # the database may be busy: the sweep relays it again
            db.session.rollback()
            logger.exception("could not note the relay of tasks %s", task_ids)


def mark_done(task_id: int) -> None:
    """A worker finished the task of row `task_id`."""
    db.session.execute(sa.update(QueuedTask).where(QueuedTask.id == task_id)
                       .values(status=TaskStatus.done, done_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.commit()


def task_lease() -> timedelta:
    """The lease of a relayed task (CFP_TASK_LEASE_SECONDS, 15 minutes by default)."""
    seconds = current_app.config.get("TASK_LEASE_SECONDS")
    return timedelta(seconds=seconds) if seconds else LEASE


def tasks_to_relay(now: datetime | None = None) -> list[QueuedTask]:
    """Rows the broker never took (their after-commit relay had its turn), and rows
    relayed longer than the lease ago whose task is not done."""
    now = now or utcnow()
    return list(db.session.scalars(sa.select(QueuedTask).where(
        QueuedTask.status == TaskStatus.queued,
        sa.or_(sa.and_(QueuedTask.relayed_at.is_(None), QueuedTask.created_at < now - FIRST_RELAY_GRACE),
               QueuedTask.relayed_at < now - task_lease()))
        .order_by(QueuedTask.id)))


def relay_due(now: datetime | None = None) -> int:
    """The sweep: relay what is due; the number relayed."""
    due = [(t.id, t.name, list(t.args), t.request_id) for t in tasks_to_relay(now)]
    db.session.commit()
    return sum(relay(*row, sweep=True) for row in due)
