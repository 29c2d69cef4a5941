"""Side effects after commit: callbacks registered during a transaction run only
once it commits, and are discarded if it rolls back."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "cfp_after_commit"


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    if session is None:
        from cfp.extensions import db

        session = db.session()
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)
