"""Tasks for committee; thin wrappers around cfp operations."""
from celery import shared_task

from cfp.extensions import db


@shared_task(name="meetings.generate_minutes", autoretry_for=(Exception,), retry_backoff=5, max_retries=3)
def generate_minutes(meeting_id: int) -> str:
    """Build the meeting's minutes PDF into the cache, in each language (idempotent: an
    up-to-date cached file is reused, so running it twice builds it once)."""
    from flask import current_app
    from flask_babel import force_locale

    from cfp.meetings.minutes import minutes_pdf
    from cfp.meetings.models import Meeting

    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        return "skipped"
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            minutes_pdf(meeting)
    return "built"
