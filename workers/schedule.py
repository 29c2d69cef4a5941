"""The whole beat schedule, in one list."""
from celery.schedules import crontab

BEAT_SCHEDULE = {
    "open-and-close-calls": {"task": "calls.open_and_close_calls", "schedule": 60.0},
    "requeue-outbox": {"task": "mail.requeue_outbox", "schedule": 60.0},
    "relay-task-outbox": {"task": "tasks.relay", "schedule": 60.0},
    "expire-review-invitations": {"task": "reviews.expire_invitations", "schedule": 900.0},
    "send-review-reminders": {"task": "reviews.send_review_reminders", "schedule": 3600.0},
    "send-report-reminders": {"task": "projects.send_report_reminders", "schedule": crontab(hour=6, minute=5)},
    "purge-account-records": {
        "task": "auth.purge_account_records", "schedule": crontab(hour=3, minute=17),
    },
    "apply-retention": {"task": "auth.apply_retention", "schedule": crontab(hour=3, minute=41)},
    "purge-old-exports": {"task": "exports.purge_old_exports", "schedule": 3600.0},
}
