"""Tasks for the review stage; thin wrappers around cfp operations."""
from celery import shared_task

from cfp.extensions import db
from cfp.reviews.operations import compute_side_ranking


@shared_task(name="reviews.recompute_ranking", autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def recompute_ranking(call_id: int, agency_id: int) -> int:
    entries = compute_side_ranking(call_id, agency_id)
    db.session.commit()
    return len(entries)


@shared_task(name="reviews.compute_assignment", acks_late=True)
def compute_assignment(job_id: int) -> str:
    """Affinities and the optimal assignment for one call and side, as a Job with progress.
    Idempotent: a job already finished, failed or cancelled is left alone."""
    from cfp.reviews.automatic import run_assignment_job

    result = run_assignment_job(job_id)
    return "done" if result is not None else "skipped"


@shared_task(name="reviews.replace_assignment", autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def replace_assignment(assignment_id: int) -> int | None:
    """Invite the next best reviewer after a decline, a declared conflict or no answer.
    Idempotent: an assignment already replaced is left alone."""
    from cfp.reviews.models import Assignment
    from cfp.reviews.operations import replace_assignment as replace

    assignment = db.session.get(Assignment, assignment_id, with_for_update={"of": Assignment})
    if assignment is None:
        return None
    replacement = replace(None, assignment)
    db.session.commit()
    return replacement.id if replacement is not None else None


@shared_task(name="reviews.expire_invitations")
def expire_invitations() -> int:
    """Beat: invitations unanswered within the call's answer period are replaced."""
    from cfp.reviews.operations import expire_invitations as expired

    ids = expired()
    db.session.commit()  # end this transaction before each replacement runs in its own
    for assignment_id in ids:
        replace_assignment.delay(assignment_id)
    return len(ids)


@shared_task(name="reviews.send_review_reminders")
def send_review_reminders() -> int:
    """Beat: reminders before and after the due date, overdue marking; never twice."""
    from cfp.reviews.operations import remind_reviewers

    sent = remind_reviewers()
    db.session.commit()
    return sent
