"""The staff's lists of the review stage: a side's reviewer pool, its assignments and its
ranking. Each has its search, sort and filters (cfp/core/listing.py) and one function that
builds its rows' query, for the page as for an export."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from cfp.auth.models import User
from cfp.calls.models import Agency, Call
from cfp.core.listing import Filter, ListSpec, Sort, state_filter
from cfp.core.roles import Role
from cfp.core.scope import within
from cfp.core.types import utcnow
from cfp.proposals.models import Proposal
from cfp.reviews.models import (
    OPEN_ASSIGNMENT_STATES,
    Assignment,
    AssignmentState,
    RankingEntry,
    ReviewerProfile,
)

# ------------------------------------------------------------------------- the pool

OPEN_LOAD = (sa.select(sa.func.count(Assignment.id))
             .where(Assignment.reviewer_id == ReviewerProfile.user_id,
                    Assignment.agency_id == ReviewerProfile.agency_id,
                    Assignment.state.in_(OPEN_ASSIGNMENT_STATES))
             .correlate(ReviewerProfile).scalar_subquery())


def _unavailable_today():
    today = utcnow().date()
    return sa.and_(sa.or_(ReviewerProfile.unavailable_from.is_not(None), ReviewerProfile.unavailable_until.is_not(None)),
                   sa.or_(ReviewerProfile.unavailable_from.is_(None), ReviewerProfile.unavailable_from <= today),
                   sa.or_(ReviewerProfile.unavailable_until.is_(None), ReviewerProfile.unavailable_until >= today))


POOL = ListSpec(
    sorts={"name": Sort(User.name, keyset=False), "institution": Sort(User.affiliation, keyset=False),
           "load": Sort(OPEN_LOAD, keyset=False), "max": Sort(ReviewerProfile.max_load)},
    default="name", id_column=ReviewerProfile.id,
    search=(User.name, User.email, User.affiliation, ReviewerProfile.keywords, ReviewerProfile.expertise),
    filters=(Filter("availability", _l("Availability today"),
                    lambda: [("available", _l("available")), ("unavailable", _l("unavailable"))],
                    lambda value: sa.not_(_unavailable_today()) if value == "available" else _unavailable_today()),))


def pool_query(agency_id: int) -> sa.Select:
    """The reviewers of one side's pool (the page checks the staff member's side)."""
    return (sa.select(ReviewerProfile).join(User, User.id == ReviewerProfile.user_id)
            .where(ReviewerProfile.agency_id == agency_id))


# ------------------------------------------------------------------ the assignments


def _staff_calls(user):
    return sa.select(Call.id).where(within(user, Call.committee_id, Role.staff))


def assignment_spec(user) -> ListSpec:
    from cfp.extensions import db

    sides = sorted(user.staff_side_ids())
    return ListSpec(
        sorts={"proposal": Sort(Proposal.reference, keyset=False), "reviewer": Sort(User.name, keyset=False),
               "state": Sort(Assignment.state), "due": Sort(Assignment.due_at),
               "invited": Sort(Assignment.invited_at)},
        default="proposal", id_column=Assignment.id,
        search=(Proposal.reference, Proposal.title, Proposal.acronym, User.name, User.email),
        filters=(
            Filter("call", _l("Call"), lambda: [(c.id, c.reference) for c in db.session.execute(
                sa.select(Call.id, Call.reference).where(Call.id.in_(_staff_calls(user)))
                .order_by(Call.opens_at.desc()))], lambda value: Proposal.call_id == int(value)),
            Filter("side", _l("Side"), lambda: [(a.id, a.short_name) for a in db.session.execute(
                sa.select(Agency.id, Agency.short_name).where(Agency.id.in_(sides)).order_by(Agency.short_name))],
                lambda value: Assignment.agency_id == int(value)),
            state_filter("state", _l("Status"), Assignment.state, list(AssignmentState)),
        ))


def assignment_query(user) -> sa.Select:
    """Every assignment of the staff member's sides, in the calls of their committees."""
    return (sa.select(Assignment).join(Proposal, Proposal.id == Assignment.proposal_id)
            .join(User, User.id == Assignment.reviewer_id)
            .where(Assignment.agency_id.in_(user.staff_side_ids()), Proposal.call_id.in_(_staff_calls(user)))
            .options(sa.orm.selectinload(Assignment.agency)))

# ---------------------------------------------------------------- a side's ranking

SIDE_RANKING = ListSpec(
    sorts={"rank": Sort(RankingEntry.rank, keyset=False), "proposal": Sort(Proposal.reference, keyset=False),
           "reviews": Sort(RankingEntry.reviews_count), "score": Sort(RankingEntry.mean_score, keyset=False),
           "passed": Sort(RankingEntry.passed)},
    default="rank", id_column=RankingEntry.id,
    search=(Proposal.reference, Proposal.title, Proposal.acronym),
    filters=(Filter("passed", _l("Passes the thresholds"), lambda: [("yes", _l("yes")), ("no", _l("no"))],
                    lambda value: RankingEntry.passed == (value == "yes")),))


def side_ranking_query(call_id: int, agency_id: int) -> sa.Select:
    """One side's ranking of one call (the page checks the side)."""
    return (sa.select(RankingEntry).join(Proposal, Proposal.id == RankingEntry.proposal_id)
            .where(RankingEntry.call_id == call_id, RankingEntry.agency_id == agency_id)
            .options(sa.orm.contains_eager(RankingEntry.proposal)))
