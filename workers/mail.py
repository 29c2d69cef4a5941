"""Email delivery from the outbox: thin, idempotent, retried with backoff."""
from celery import shared_task

from cfp.core.outbox import deliver_message, messages_to_requeue
from cfp.extensions import db


@shared_task(
    name="mail.deliver_email", bind=True, autoretry_for=(Exception,), retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True, max_retries=8,
)
def deliver_email(self, message_id: int) -> str:
    return deliver_message(message_id)


@shared_task(name="mail.requeue_outbox")
def requeue_outbox() -> int:
    ids = messages_to_requeue()
    db.session.commit()
    for message_id in set(ids):
        deliver_email.delay(message_id)
    return len(ids)
