"""The staff's list of submitted proposals as CSV / XLSX: states, PIs, and the
eligibility of the staff member's own sides (never the other side's)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from cfp.calls.models import Agency, Call
from cfp.core import exports
from cfp.core.params import whole_number
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.proposals.lists import staff_proposal_query, staff_proposal_spec
from cfp.proposals.models import Proposal
from cfp.proposals.views import bp


def _authorize() -> None:
    exports.require_role(Role.staff)


def _check(proposal: Proposal, agency_id: int):
    return next((c for c in proposal.eligibility_checks if c.agency_id == agency_id), None)


def _side(proposal: Proposal, agency_id: int):
    return next((s for s in proposal.sides if s.agency_id == agency_id), None)


def proposals_table(user, query) -> exports.Table:
    # The page's proposals with its search, filters and order (cfp/proposals/lists.py).
    source = (staff_proposal_spec(user).read(query).apply(staff_proposal_query(user))
              .options(selectinload(Proposal.sides)))
    agencies = db.session.scalars(sa.select(Agency).where(Agency.id.in_(user.staff_side_ids()))
                                  .order_by(Agency.id)).all()
    columns = [
        exports.Column(_("Reference"), lambda p: p.reference),
        exports.Column(_("Call"), lambda p: p.call.reference),
        exports.Column(_("Acronym"), lambda p: p.acronym),
        exports.Column(_("Title"), lambda p: p.title),
        exports.Column(_("Status"), lambda p: p.state_label),
        exports.Column(_("Submitted"), lambda p: p.submitted_at, "datetime"),
        exports.Column(_("Principal investigators"),
                       lambda p: "; ".join(f"{s.pi_display_name} ({s.agency.short_name}, {s.institution})"
                                           for s in p.sides)),
    ]
    for agency in agencies:
        aid = agency.id
        columns += [
            exports.Column(_("Requested from %(side)s", side=agency.short_name),
                           lambda p, aid=aid: _side(p, aid).requested_amount if _side(p, aid) else None,
                           "money", currency=agency.currency),
            exports.Column(_("Eligibility, %(side)s", side=agency.short_name),
                           lambda p, aid=aid: _check(p, aid).status.label if _check(p, aid) else None),
            exports.Column(_("Eligibility reason, %(side)s", side=agency.short_name),
                           lambda p, aid=aid: _check(p, aid).reason if _check(p, aid) else None),
        ]
    call_id = query.get("call", type=whole_number)
    call = db.session.get(Call, call_id) if call_id else None
    mine = call is not None and call.works_on(user)
    return exports.Table("proposals", columns, source, prefix=call.reference if mine else "",
                         title=_("Proposals"))


exports.register("proposals.staff", authorize=_authorize, build=proposals_table, label=_l("Submitted proposals"))


@bp.route("/staff/export.<fmt>")
@role_required(Role.staff)
def staff_index_export(fmt: str):
    return exports.respond("proposals.staff", fmt)
