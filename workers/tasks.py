"""The task outbox's sweep: thin, like every task here."""
from celery import shared_task

from cfp.core.tasks import relay_due


@shared_task(name="tasks.relay")
def relay_queued_tasks() -> int:
    """Beat, every minute: tasks the broker never took, and those past their lease."""
    return relay_due()
