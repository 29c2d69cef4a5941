"""Side effects after commit: callbacks registered during a transaction run only
once it commits, and are discarded if it rolls back. And their converse: undoing, if the
transaction ends without committing, what was done outside the database for it (a file
written for a row that is not kept)."""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "cfp_after_commit"
_UNDO = "cfp_unless_committed"
logger = logging.getLogger(__name__)


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    if session is None:
        from cfp.extensions import db

        session = db.session()
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    """Each callback runs on its own: the data is committed already, so a failing
    one (say, the broker is down) is logged and must not stop the others. Emails
    are re-queued by the outbox sweep; see workers/schedule.py. SQLAlchemy calls this on
    a savepoint's release too: then nothing is committed yet, and they wait for the end."""
    if session.in_nested_transaction():
        return
    session.info.pop(_UNDO, None)  # committed: nothing to undo
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("after-commit callback %r failed", callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)


def unless_committed(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run `callback` if the transaction ends without committing: rolled back, or the
    session closed with it open (a request that failed midway)."""
    if session is None:
        from cfp.extensions import db

        session = db.session()
    session.info.setdefault(_UNDO, []).append(callback)


@event.listens_for(Session, "after_transaction_end")
def _undo_unless_committed(session: Session, transaction) -> None:
    if transaction.nested or transaction.parent is not None:
        return
    for callback in session.info.pop(_UNDO, []):
        try:
            callback()
        except Exception:
            logger.exception("undo callback %r failed", callback)
