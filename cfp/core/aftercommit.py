"""Side effects after commit: callbacks registered during a transaction run only
once it commits, and are discarded if it rolls back."""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "cfp_after_commit"
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
