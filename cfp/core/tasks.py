"""Background work, queued by name: cfp never imports `workers/`.

An operation that needs a task calls `queue_task(name, *ids)` with the task's
name (e.g. "reviews.recompute_ranking"); the task is handed to the broker only
once the transaction commits (a rollback queues nothing). The tasks themselves live in `workers/`, registered under these names.
"""
from __future__ import annotations

from flask import current_app

from cfp.core.aftercommit import after_commit


def send_task(name: str, *args) -> None:
    """Hand the task `name` to Celery now. A task registered in this process runs
    through its own object (so eager mode in tests runs it in place); otherwise
    it is sent by name to the broker, where a worker knows it."""
    celery_app = current_app.extensions["celery"]
    task = celery_app.tasks.get(name)
    if task is not None:
        task.apply_async(args=args)
    else:
        celery_app.send_task(name, args=args)


def queue_task(name: str, *args) -> None:
    """Queue the task `name` with id arguments once the current transaction commits."""
    after_commit(lambda: send_task(name, *args))
