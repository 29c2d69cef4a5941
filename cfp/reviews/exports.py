"""A side's lists as CSV / XLSX, for that side's staff only: its reviewer pool, its
assignments and its reviews of a call (never the other side's), and its ranking."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.calls.models import Agency, Call
from cfp.core import exports
from cfp.core.countries import country_name
from cfp.core.loading import load_worked_on
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.proposals.models import Proposal
from cfp.reviews.lists import POOL, SIDE_RANKING, pool_query, side_ranking_query
from cfp.reviews.models import Assignment, Review, ReviewState
from cfp.reviews.staff_views import _pool_side, _staff_side, open_reviews_of, ranking_side
from cfp.reviews.views import bp

# ---------------------------------------------------------------- the reviewer pool


def _pool_authorize(agency_id: int) -> None:
    exports.require_role(Role.staff)
    _pool_side(agency_id)


def _pool_table(user, query, agency_id: int) -> exports.Table:
    agency = db.session.get(Agency, agency_id)

    def prepare(profiles):
        load = open_reviews_of(agency, [p.user_id for p in profiles])
        return [(p, load.get(p.user_id, 0)) for p in profiles]

    columns = [
        exports.Column(_("Reviewer"), lambda r: r[0].user.name),
        exports.Column(_("Email"), lambda r: r[0].user.email),
        exports.Column(_("Institution"), lambda r: r[0].user.affiliation),
        exports.Column(_("Country"), lambda r: country_name(r[0].country)),
        exports.Column(_("Keywords"), lambda r: r[0].keywords),
        exports.Column(_("Expertise"), lambda r: r[0].expertise),
        exports.Column(_("Open reviews"), lambda r: r[1], "int"),
        exports.Column(_("Maximum"), lambda r: r[0].max_load, "int"),
        exports.Column(_("Unavailable from"), lambda r: r[0].unavailable_from, "date"),
        exports.Column(_("Unavailable until"), lambda r: r[0].unavailable_until, "date"),
    ]
    return exports.Table("reviewer-pool", columns, POOL.read(query).apply(pool_query(agency.id)), prefix=agency.short_name,
                         prepare=prepare, title=_("Reviewer pool"))


exports.register("reviews.pool", authorize=_pool_authorize, build=_pool_table, label=_l("Reviewer pool"))


@bp.route("/pool/<int:agency_id>/export.<fmt>")
@role_required(Role.staff)
def pool_export(agency_id: int, fmt: str):
    return exports.respond("reviews.pool", fmt, agency_id=agency_id)


# ---------------------------------------------------------------- a side's assignments and reviews


def _side_authorize(call_id: int, agency_id: int) -> None:
    """The dashboard's checks: the call within scope (404), staff of that side (403)."""
    exports.require_role(Role.staff)
    _staff_side(load_worked_on(Call, call_id), agency_id)


def side_assignments_query(call_id: int, agency_id: int) -> sa.Select:
    """Every assignment of one side of a call (the dashboard's progress, row by row)."""
    return (sa.select(Assignment).join(Proposal, Proposal.id == Assignment.proposal_id)
            .where(Proposal.call_id == call_id, Assignment.agency_id == agency_id)
            .options(selectinload(Assignment.review).selectinload(Review.scores))
            .order_by(Proposal.reference, Assignment.id))


def _assignments_table(user, query, call_id: int, agency_id: int) -> exports.Table:
    call = db.session.get(Call, call_id)
    columns = [
        exports.Column(_("Proposal"), lambda a: a.proposal.reference),
        exports.Column(_("Title"), lambda a: a.proposal.title),
        exports.Column(_("Reviewer"), lambda a: a.reviewer.name),
        exports.Column(_("Email"), lambda a: a.reviewer.email),
        exports.Column(_("Status"), lambda a: a.state.label),
        exports.Column(_("How assigned"), lambda a: a.method.label),
        exports.Column(_("Invited"), lambda a: a.invited_at, "datetime"),
        exports.Column(_("Answered"), lambda a: a.answered_at, "datetime"),
        exports.Column(_("Due"), lambda a: a.due_at, "datetime"),
        exports.Column(_("Review submitted"), lambda a: a.review.submitted_at if a.review else None, "datetime"),
    ]
    return exports.Table("assignments", columns, side_assignments_query(call_id, agency_id),
                         prefix=f"{call.reference}-{call.side(agency_id).agency.short_name}",
                         title=_("Assignments"))


def _reviews_table(user, query, call_id: int, agency_id: int) -> exports.Table:
    """The side's reviews (drafts are the reviewers' own: submitted ones only)."""
    call = db.session.get(Call, call_id)
    source = (side_assignments_query(call_id, agency_id).join(Review, Review.assignment_id == Assignment.id)
              .where(Review.state == ReviewState.submitted))
    columns = [
        exports.Column(_("Proposal"), lambda a: a.proposal.reference),
        exports.Column(_("Title"), lambda a: a.proposal.title),
        exports.Column(_("Reviewer"), lambda a: a.reviewer.name),
        exports.Column(_("Submitted"), lambda a: a.review.submitted_at, "datetime"),
        exports.Column(_("Weighted score"), lambda a: a.review.weighted_score, "decimal", decimals=3),
    ]
    for criterion in call.criteria:
        columns.append(exports.Column(criterion.name, lambda a, c=criterion: a.review.score_for(c),
                                      "decimal", decimals=1))
    columns += [
        exports.Column(_("Recommendation"),
                       lambda a: a.review.recommendation.label if a.review.recommendation else None),
        exports.Column(_("Comments to the applicants"), lambda a: a.review.comments_to_applicants),
        exports.Column(_("Confidential comments"), lambda a: a.review.confidential_comments),
    ]
    return exports.Table("reviews", columns, source,
                         prefix=f"{call.reference}-{call.side(agency_id).agency.short_name}", title=_("Reviews"))


exports.register("reviews.assignments", authorize=_side_authorize, build=_assignments_table,
                 label=_l("Assignments"))
exports.register("reviews.reviews", authorize=_side_authorize, build=_reviews_table, label=_l("Reviews"))


@bp.route("/dashboard/<int:call_id>/<int:agency_id>/assignments.<fmt>")
@role_required(Role.staff)
def assignments_export(call_id: int, agency_id: int, fmt: str):
    return exports.respond("reviews.assignments", fmt, call_id=call_id, agency_id=agency_id)


@bp.route("/dashboard/<int:call_id>/<int:agency_id>/reviews.<fmt>")
@role_required(Role.staff)
def reviews_export(call_id: int, agency_id: int, fmt: str):
    return exports.respond("reviews.reviews", fmt, call_id=call_id, agency_id=agency_id)


# ---------------------------------------------------------------- a side's ranking


def _ranking_authorize(call_id: int) -> None:
    """The ranking page's checks; the joint roles, sent to the joint ranking there, have
    no side's ranking to download (403)."""
    call = load_worked_on(Call, call_id)
    if not call.works_on(current_user):
        abort(404)
    ranking_side(call)


def _ranking_table(user, query, call_id: int) -> exports.Table:
    call = db.session.get(Call, call_id)
    agency = next(a for a in call.agencies if user.has_role(Role.staff, a, call.committee_id))
    columns = [
        exports.Column(_("Rank"), lambda e: e.rank, "int"),
        exports.Column(_("Proposal"), lambda e: e.proposal.reference),
        exports.Column(_("Title"), lambda e: e.proposal.title),
        exports.Column(_("Reviews"), lambda e: e.reviews_count, "int"),
        exports.Column(_("Mean score"), lambda e: e.mean_score, "decimal", decimals=3),
        exports.Column(_("Passes thresholds"), lambda e: e.passed, "bool"),
        exports.Column(_("Status"), lambda e: e.proposal.state.label),
    ]
    return exports.Table("ranking", columns, SIDE_RANKING.read(query).apply(side_ranking_query(call.id, agency.id)),
                         prefix=f"{call.reference}-{agency.short_name}", title=_("Ranking"))


exports.register("reviews.ranking", authorize=_ranking_authorize, build=_ranking_table, label=_l("Ranking"))


@bp.route("/ranking/<int:call_id>/export.<fmt>")
@login_required  # as the page: the call within scope first (404), then a side of one's own (403)
def ranking_export(call_id: int, fmt: str):
    return exports.respond("reviews.ranking", fmt, call_id=call_id)
