"""The whole beat schedule, in one list."""
from celery.schedules import crontab  # noqa: F401  (kept for schedules that need it)

BEAT_SCHEDULE = {
    "open-and-close-calls": {"task": "workers.calls.open_and_close_calls", "schedule": 60.0},
    "requeue-outbox": {"task": "workers.mail.requeue_outbox", "schedule": 120.0},
}
