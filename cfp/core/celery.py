"""Celery wired the way the Flask docs describe: tasks run in an app context,
arguments are ids, JSON only, results ignored. The tasks and the beat schedule
are `workers/`'s: `workers.wire` adds them to this app (cfp never imports workers)."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask

from cfp.core.tasks import HEADER, mark_done


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                result = self.run(*args, **kwargs)
                task_id = (self.request.headers or {}).get(HEADER) or getattr(self.request, HEADER, None)
                if task_id is not None:  # a task of the outbox: its row is done
                    mark_done(task_id)
                return result

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
