"""Tasks for accounts; thin wrappers around cfp operations."""
from celery import shared_task

from cfp.auth.operations import purge_account_records as purge
from cfp.auth.retention import apply_retention as retention
from cfp.extensions import db


@shared_task(name="auth.purge_account_records")
def purge_account_records() -> list[int]:
    attempts, tokens = purge()
    db.session.commit()
    return [attempts, tokens]


@shared_task(name="auth.apply_retention")
def apply_retention() -> dict:
    done = retention()
    db.session.commit()
    return done
