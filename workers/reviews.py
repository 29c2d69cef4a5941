"""Tasks for the review stage; thin wrappers around cfp operations."""
from celery import shared_task

from cfp.extensions import db
from cfp.reviews.operations import compute_side_ranking


@shared_task(autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def recompute_ranking(call_id: int, agency_id: int) -> int:
    entries = compute_side_ranking(call_id, agency_id)
    db.session.commit()
    return len(entries)
