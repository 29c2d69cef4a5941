"""Tasks for proposals; thin wrappers around cfp operations."""
from celery import shared_task

from cfp.extensions import db
from cfp.proposals.eligibility import evaluate_rules
from cfp.proposals.models import Proposal


@shared_task(name="proposals.evaluate_eligibility_rules", autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def evaluate_eligibility_rules(proposal_id: int) -> int:
    """The automatic eligibility rules of both sides, once per check (idempotent)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        return 0
    checks = evaluate_rules(proposal)
    db.session.commit()
    return len(checks)
