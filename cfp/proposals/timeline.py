"""Each proposal's status as a timeline, read from the audit log: one query for all
the proposals of a page."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from cfp.core.audit import AuditEntry
from cfp.extensions import db
from cfp.proposals.models import ProposalState

# The milestones an applicant follows; saves, confirmations and uploads stay in the history.
MILESTONES = {
    "proposal.start": _l("Draft started"),
    "proposal.invite_partner": _l("Partner PI invited"),
    "proposal.resend_invitation": _l("Partner PI invited again"),
    "proposal.cancel_invitation": _l("Partner PI's invitation cancelled"),
    "proposal.join": _l("Partner PI joined"),
    "proposal.submit_pre_proposal": _l("Pre-proposal submitted"),
    "proposal.invite_full_stage": _l("Invited to the full stage"),
    "proposal.decline_pre_proposal": _l("Pre-proposal declined"),
    "proposal.start_full_stage": _l("Full proposal started"),
    "proposal.extend_deadline": _l("Individual deadline extension granted"),
    "proposal.submit": lazy_pgettext("timeline event", "Submitted"),
    "proposal.withdraw": _l("Withdrawn"),
}


@dataclass
class Step:
    at: datetime
    label: str
    current: bool = False


def proposal_timelines(proposal_ids: list[int]) -> dict[int, list[Step]]:
    if not proposal_ids:
        return {}
    entries = db.session.execute(
        sa.select(AuditEntry.object_id, AuditEntry.action, AuditEntry.after, AuditEntry.created_at)
        .where(AuditEntry.object_type == "Proposal", AuditEntry.object_id.in_(proposal_ids),
               AuditEntry.action.like("proposal.%"))
        .order_by(AuditEntry.created_at, AuditEntry.id)
    ).all()
    steps: dict[int, list[Step]] = defaultdict(list)
    for object_id, action, after, created_at in entries:
        label = MILESTONES.get(action)
        if label is None and action not in MILESTONES:
            state = (after or {}).get("state")
            try:
                label = ProposalState(state).label if state else None
            except ValueError:
                label = None
        if label is not None:
            steps[object_id].append(Step(at=created_at, label=str(label)))
    for timeline in steps.values():
        timeline[-1].current = True
    return dict(steps)
