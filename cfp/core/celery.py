"""Celery wired the way the Flask docs describe: tasks run in an app context,
arguments are ids, JSON only, results ignored. The tasks and the beat schedule
are `workers/`'s: `workers.wire` adds them to this app (cfp never imports workers)."""
from __future__ import annotations

import logging
import time

from celery import Celery, Task
from celery.signals import setup_logging
from flask import Flask
from sqlalchemy.exc import OperationalError

from cfp.core.logs import current_request_id
from cfp.core.logs import setup_logging as setup_cfp_logging
from cfp.core.tasks import HEADER, REQUEST_HEADER, mark_done

logger = logging.getLogger("cfp.tasks")
# The embedded mode's SQLite refuses a task's write at once when the web process committed
# after the task's first read (a stale snapshot: no busy wait helps). Tasks are idempotent,
# so such a task runs again, from the start, a moment later.
SQLITE_RETRIES = 5
SQLITE_RETRY_DELAY = 1  # second


def _sqlite_refused(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def _header(request, name: str):
    return (request.headers or {}).get(name) or getattr(request, name, None)


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            request_id = _header(self.request, REQUEST_HEADER)
            token = current_request_id.set(request_id or f"task-{self.request.id}")
            started, status = time.monotonic(), "failed"
            try:
                try:
                    with app.app_context():
                        result = self.run(*args, **kwargs)
                        task_id = _header(self.request, HEADER)
                        if task_id is not None:  # a task of the outbox: its row is done
                            mark_done(task_id)
                        status = "done"
                        return result
                except OperationalError as exc:
                    if not _sqlite_refused(exc) or self.request.retries >= SQLITE_RETRIES:
                        raise
                    status = "refused by SQLite, run again"
                    raise self.retry(exc=exc, countdown=SQLITE_RETRY_DELAY, max_retries=SQLITE_RETRIES) from exc
            finally:
                duration_ms = round((time.monotonic() - started) * 1000)
                logger.info("task %s %s in %s ms (request %s)", self.name, status, duration_ms,
                            request_id or "-", extra={"task": self.name, "task_id": self.request.id,
                                                      "status": status, "duration_ms": duration_ms})
                current_request_id.reset(token)

    if app.config.get("LOG_JSON"):  # the worker logs JSON lines too, instead of Celery's format
        setup_logging.connect(lambda **kwargs: setup_cfp_logging(json_lines=True), weak=False,
                              dispatch_uid="cfp-json-logs")
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(_fail_fast(app.config["CELERY"]))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def _fail_fast(conf: dict) -> dict:
    """A Redis broker that is down answers a sender at once instead of after kombu's
    reconnection attempts (6 s each, measured): the task outbox keeps what was not
    taken for the sweep, so a request never waits on the broker. A worker's own
    connection keeps retrying (Celery's broker_connection_max_retries)."""
    if not str(conf.get("broker_url", "")).startswith(("redis://", "rediss://")):
        return conf
    options = {"max_retries": 0, "socket_connect_timeout": 2, **(conf.get("broker_transport_options") or {})}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder", "store_processed"):
        options.pop(key, None)  # the embedded broker's, when a test or a caller switched to Redis
    return {**conf, "broker_transport_options": options}
