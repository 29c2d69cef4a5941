"""Drafts that were never submitted are the applicants' own, and are not kept for ever:
deleted with their documents when their owner deletes the account, or when nobody has
changed them for CFP_RETAIN_DRAFTS_DAYS (cfp/auth/retention.py)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from cfp.core.audit import log_action
from cfp.extensions import db
from cfp.proposals.documents import _remove_after_commit, document_path
from cfp.proposals.models import Proposal, ProposalState

# What a never-submitted proposal can be in: a draft, a pre-proposal, or withdrawn before submission.
UNSUBMITTED_STATES = (ProposalState.draft, ProposalState.pre_proposal, ProposalState.withdrawn)


def delete_draft(proposal: Proposal) -> None:
    """Delete a proposal that was never submitted, its documents' files once the
    transaction commits (its versions and invitations go with it in the database)."""
    if proposal.submitted_at is not None or proposal.pre_submitted_at is not None:
        raise ValueError(f"{proposal!r} was submitted: it is the programme's record")
    for document in proposal.documents:
        _remove_after_commit(document_path(document))
    db.session.delete(proposal)
    db.session.flush()


def delete_stale_drafts(before: datetime) -> int:
    """Delete the never-submitted proposals nobody changed since `before`; returns how many."""
    stale = db.session.scalars(sa.select(Proposal).where(
        Proposal.submitted_at.is_(None), Proposal.pre_submitted_at.is_(None),
        Proposal.state.in_(UNSUBMITTED_STATES), Proposal.updated_at < before,
    ).order_by(Proposal.id)).all()
    for proposal in stale:
        log_action(None, "proposal.retention_deleted", proposal,
                   before={"state": proposal.state, "updated_at": proposal.updated_at})
        delete_draft(proposal)
    return len(stale)
