"""The staff's list of submitted proposals: its search, sort and filters (cfp/core/listing.py),
and the one query the page and its exports read."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from cfp.calls.models import Call
from cfp.core.listing import Filter, ListSpec, Sort, state_choices, state_filter
from cfp.core.roles import Role
from cfp.core.scope import within
from cfp.proposals.models import EligibilityCheck, EligibilityStatus, Proposal, ProposalState

SUBMITTED_STATES = [s for s in ProposalState if s not in (
    ProposalState.pre_proposal, ProposalState.invited, ProposalState.draft)]


def _staff_calls(user):
    """The calls of the committees the staff member works in (roles are per committee)."""
    return sa.select(Call.id).where(within(user, Call.committee_id, Role.staff))


def _call_choices(user):
    from cfp.extensions import db

    return lambda: [(c.id, c.reference) for c in db.session.execute(
        sa.select(Call.id, Call.reference).where(Call.id.in_(_staff_calls(user))).order_by(Call.opens_at.desc()))]


def _my_side_eligibility(user):
    """`?eligibility=<status>`: proposals whose eligibility check of the staff member's
    side (any of them) has that status."""
    def condition(value):
        return sa.exists().where(EligibilityCheck.proposal_id == Proposal.id,
                                 EligibilityCheck.agency_id.in_(user.staff_side_ids()),
                                 EligibilityCheck.status == EligibilityStatus(value))
    return Filter("eligibility", _l("My side’s eligibility"), state_choices(list(EligibilityStatus)), condition)


def staff_proposal_spec(user) -> ListSpec:
    return ListSpec(
        sorts={"reference": Sort(Proposal.reference), "title": Sort(Proposal.title),
               "state": Sort(Proposal.state), "submitted": Sort(Proposal.submitted_at)},
        default="reference", id_column=Proposal.id, keyset=True,
        search=(Proposal.reference, Proposal.title, Proposal.acronym, Proposal.keywords),
        filters=(Filter("call", _l("Call"), _call_choices(user), lambda value: Proposal.call_id == int(value)),
                 state_filter("state", _l("Status"), Proposal.state, SUBMITTED_STATES),
                 _my_side_eligibility(user)))


def staff_proposal_query(user) -> sa.Select:
    """Submitted proposals of the staff member's committees: the rows of the list before
    its search, filters and order (`staff_proposal_spec(user).read().apply(...)` adds them,
    for the page as for an export)."""
    query = (
        sa.select(Proposal)
        .where(Proposal.call_id.in_(_staff_calls(user)),
               Proposal.state.not_in([ProposalState.draft, ProposalState.pre_proposal]),
               Proposal.submitted_at.is_not(None), Proposal.reference.is_not(None))
        .options(selectinload(Proposal.eligibility_checks), selectinload(Proposal.call))
    )
    return query
