"""Jobs: background computations a person waits for, with progress and result."""
from __future__ import annotations

import functools
import logging
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.audit import call_committee_id
from cfp.core.states import StateEnum, labels
from cfp.core.types import IdMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db

logger = logging.getLogger(__name__)


class JobStatus(StateEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


labels(
    {
        JobStatus.queued: _l("queued"),
        JobStatus.running: _l("running"),
        JobStatus.done: _l("done"),
        JobStatus.failed: _l("failed"),
        JobStatus.cancelled: _l("cancelled"),
    }
)


class Job(IdMixin, db.Model):
    __tablename__ = "jobs"

    kind: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.queued)
    progress: Mapped[int] = mapped_column(default=0)  # 0..100
    message: Mapped[str | None] = mapped_column(sa.String(300))
    params: Mapped[dict | None] = mapped_column(sa.JSON)
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")

    @property
    def audit_committee_id(self) -> int | None:
        """A job works on a call (its parameters name it): its entries are that committee's."""
        call_id = (self.params or {}).get("call_id")
        return call_committee_id(call_id) if isinstance(call_id, int) else None

    def can_view(self, user) -> bool:
        return user.is_authenticated and (user.id == self.created_by_id or user.is_admin)


def fails_cleanly(run):
    """For the body of a job's task, `run(job_id)`: an error it did not expect (a defect, a
    lack of memory) marks the job failed, saying so, instead of leaving it "running" for
    ever; the traceback goes to the log. A database that is unreachable or refuses a stale
    write (OperationalError) is left to the task's retry and the task outbox's sweep."""

    @functools.wraps(run)
    def guarded(job_id: int, *args, **kwargs):
        try:
            return run(job_id, *args, **kwargs)
        except OperationalError:
            raise
        except Exception:
            logger.exception("job %s stopped on an unexpected error", job_id)
            db.session.rollback()
            db.session.execute(
                sa.update(Job).where(Job.id == job_id, Job.status.in_([JobStatus.queued, JobStatus.running]))
                .values(status=JobStatus.failed, progress=100, finished_at=utcnow(),
                        message=_("Stopped by an unexpected error, logged for the administrators. "
                                  "Start it again; if it stops again, tell an administrator."))
                .execution_options(synchronize_session=False))
            db.session.commit()
            return None

    return guarded
