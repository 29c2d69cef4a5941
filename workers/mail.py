"""Email delivery from the outbox: thin, idempotent, retried with backoff."""
from celery import shared_task

from cfp.core.outbox import deliver_message, messages_to_requeue
from cfp.extensions import db


@shared_task(name="mail.deliver_email")
def deliver_email(message_id: int) -> str:
    """Send one message once. A failure is recorded on the row with the instant of the
    next attempt, which the sweep below hands out when it is due (a retry is never a
    countdown held by the broker, so a broker restart loses none)."""
    return deliver_message(message_id)


@shared_task(name="mail.requeue_outbox")
def requeue_outbox() -> int:
    """Beat, every minute: due retries, first attempts never made, expired claims."""
    ids = messages_to_requeue()
    db.session.commit()
    for message_id in set(ids):
        deliver_email.delay(message_id)
    return len(ids)
