"""Email delivery from the outbox: thin, idempotent, retried with backoff."""
from celery import shared_task

from cfp.core.outbox import deliver_messages, mail_batch, messages_to_requeue
from cfp.extensions import db


@shared_task(name="mail.deliver_email")
def deliver_email(*message_ids: int) -> str | list[str]:
    """Send these messages once each (one task carries a transaction's messages, up to
    MAIL_BATCH). A failure is recorded on the row with the instant of the next attempt,
    which the sweep below hands out when it is due (a retry is never a countdown held by
    the broker, so a broker restart loses none). Returns each message's outcome (sent,
    skipped, retry, failed): a string for one message, a list for several."""
    outcomes = list(deliver_messages(list(message_ids)).values())
    return outcomes[0] if len(outcomes) == 1 else outcomes


@shared_task(name="mail.requeue_outbox")
def requeue_outbox() -> int:
    """Beat, every minute: due retries, first attempts never made, expired claims."""
    ids = sorted(set(messages_to_requeue()))
    db.session.commit()
    size = mail_batch()
    for lo in range(0, len(ids), size):
        deliver_email.delay(*ids[lo:lo + size])
    return len(ids)
