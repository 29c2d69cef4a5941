"""Tasks for funded projects; thin wrappers around cfp operations."""
from celery import shared_task

from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.projects.operations import remind_reports


@shared_task(name="projects.send_report_reminders")
def send_report_reminders() -> int:
    """Beat: reminders of reports due soon and overdue; never twice."""
    written = remind_reports(utcnow().date())
    db.session.commit()
    return written
