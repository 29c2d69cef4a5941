"""Celery wired the way the Flask docs describe: tasks run in an app context,
arguments are ids, JSON only, results ignored."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask

TASK_MODULES = ["workers.auth", "workers.mail", "workers.proposals", "workers.reviews", "workers.calls",
                "workers.committee"]


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    from workers.schedule import BEAT_SCHEDULE

    celery_app.conf.beat_schedule = BEAT_SCHEDULE
    celery_app.conf.imports = TASK_MODULES
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
