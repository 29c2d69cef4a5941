"""Celery's side of cfp: the worker entry point (`workers.app`), the beat schedule
and the tasks, thin wrappers around cfp operations. `workers` imports `cfp`,
never the reverse: cfp queues a task by its name (cfp.core.tasks)."""

TASK_MODULES = [
    "workers.auth", "workers.calls", "workers.exports", "workers.mail", "workers.meetings", "workers.projects",
    "workers.proposals", "workers.reviews", "workers.tasks",
]


def wire(celery_app) -> None:
    """Give a Celery app made by cfp the beat schedule and every task module."""
    import importlib

    from workers.schedule import BEAT_SCHEDULE

    celery_app.conf.beat_schedule = BEAT_SCHEDULE
    celery_app.conf.beat_scheduler = "workers.beat:SingleBeat"  # one beat sends, others stand by
    celery_app.conf.imports = TASK_MODULES
    for name in TASK_MODULES:
        importlib.import_module(name)
