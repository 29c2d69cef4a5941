"""Tasks for calls; thin wrappers around cfp operations."""
from celery import shared_task

from cfp.calls.operations import open_and_close_due_calls
from cfp.extensions import db


@shared_task(name="calls.open_and_close_calls")
def open_and_close_calls() -> dict:
    result = open_and_close_due_calls()
    db.session.commit()
    return result
