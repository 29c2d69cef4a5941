"""The joint stage's lists as CSV / XLSX: the joint ranking, a project list with its
funding plan (amounts per side and year, funded or reserve, and why), and the
scenarios compared. The joint roles only, within their committees."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from cfp.calls.models import Call
from cfp.core import exports
from cfp.core.loading import load_worked_on
from cfp.core.roles import JOINT_ROLES, role_required
from cfp.extensions import db
from cfp.selection.funding import plan_lines
from cfp.selection.lists import joint_ranking_rows, joint_ranking_spec
from cfp.selection.models import ProjectList, ProjectListEntry
from cfp.selection.ranking import attach_proposals, joint_ranking
from cfp.selection.views import bp, scenario_lists, visible_list


def _call_authorize(call_id: int) -> None:
    exports.require_role(*JOINT_ROLES)
    load_worked_on(Call, call_id)


# ---------------------------------------------------------------- the joint ranking


def _joint_table(user, query, call_id: int) -> exports.Table:
    call = db.session.get(Call, call_id)
    ranking = joint_ranking(call, with_proposals=False)
    places = {r.proposal_id: place for place, r in enumerate(ranking, start=1)}
    # The page's search, filters and order (cfp/selection/lists.py); each row keeps its place.
    kept = joint_ranking_rows(call, ranking, joint_ranking_spec(call).read(query))
    rows = [(places[r.proposal_id], r) for r in kept]

    def prepare(batch):
        attach_proposals([r for _place, r in batch], sides=False)  # one query a batch
        return batch

    columns = [
        exports.Column(_("Place"), lambda pr: pr[0], "int"),
        exports.Column(_("Proposal"), lambda pr: pr[1].reference),
        exports.Column(_("Acronym"), lambda pr: pr[1].proposal.acronym),
        exports.Column(_("Title"), lambda pr: pr[1].proposal.title),
    ]
    for a in call.agencies:
        side = a.short_name
        columns += [
            exports.Column(_("%(side)s score", side=side),
                           lambda pr, a=a: pr[1].sides[a.id].mean_score if pr[1].sides[a.id] else None,
                           "decimal", decimals=3),
            exports.Column(_("%(side)s normalised", side=side), lambda pr, a=a: pr[1].normalised.get(a.id),
                           "decimal", decimals=4),
            exports.Column(_("%(side)s rank", side=side),
                           lambda pr, a=a: pr[1].sides[a.id].rank if pr[1].sides[a.id] else None, "int"),
            exports.Column(_("%(side)s passes", side=side),
                           lambda pr, a=a: pr[1].sides[a.id].passed if pr[1].sides[a.id] else None, "bool"),
        ]
    columns += [
        exports.Column(_("Combined"), lambda pr: pr[1].combined, "decimal", decimals=4),
        exports.Column(_("Both pass"), lambda pr: pr[1].passes_both, "bool"),
        exports.Column(_("Tie"), lambda pr: (_("tie settled") if pr[1].tie_break else _("tie")) if pr[1].tied else ""),
        exports.Column(_("Status"), lambda pr: pr[1].proposal.state.label),
    ]
    return exports.Table("joint-ranking", columns, rows, prefix=call.reference, prepare=prepare,
                         title=_("Joint ranking"))


exports.register("selection.joint", authorize=_call_authorize, build=_joint_table, label=_l("Joint ranking"))


@bp.route("/joint/<int:call_id>/export.<fmt>")
@role_required(*JOINT_ROLES)
def joint_ranking_export(call_id: int, fmt: str):
    return exports.respond("selection.joint", fmt, call_id=call_id)


# ---------------------------------------------------------------- a project list and its funding plan


def _list_authorize(list_id: int) -> None:
    exports.require_role(*JOINT_ROLES)
    visible_list(list_id)


def _list_table(user, query, list_id: int) -> exports.Table:
    """One row per proposal on the list (funded, then reserve, in order) with its amounts
    per side and year; then the proposals the funding plan left out; with the plan's why."""
    plist = db.session.scalar(sa.select(ProjectList).where(ProjectList.id == list_id).options(
        selectinload(ProjectList.entries).selectinload(ProjectListEntry.amounts)))
    call = plist.call
    years = list(range(1, call.project_years + 1))
    why = {p.id: (placement, text) for p, placement, text in plan_lines(plist)}
    entries = sorted(plist.entries, key=lambda e: (e.kind.value != "funded", e.position, e.id))
    listed = {e.proposal_id for e in entries}
    out = [p for p, _placement, _text in plan_lines(plist) if p.id not in listed]
    rows = [(e.proposal, e.kind.label, {(a.agency_id, a.year): a.amount for a in e.amounts}) for e in entries]
    rows += [(p, _("out"), {}) for p in out]
    columns = [
        exports.Column(_("Proposal"), lambda r: r[0].reference),
        exports.Column(_("Title"), lambda r: r[0].title),
        exports.Column(_("List"), lambda r: r[1]),
    ]
    for side in call.sides:
        aid, short = side.agency_id, side.agency.short_name
        for y in years:
            columns.append(exports.Column(_("%(side)s year %(y)s", side=short, y=y),
                                          lambda r, aid=aid, y=y: r[2].get((aid, y)), "money",
                                          currency=side.currency))
        columns.append(exports.Column(_("%(side)s total", side=short),
                                      lambda r, aid=aid: sum((v for (a, _y), v in r[2].items() if a == aid),
                                                             Decimal(0)) if r[2] else None,
                                      "money", currency=side.currency))
    columns += [
        exports.Column(_("Status"), lambda r: r[0].state.label),
        exports.Column(_("Funding plan"), lambda r: why[r[0].id][1] if r[0].id in why else None),
    ]
    return exports.Table("project-list", columns, rows, prefix=f"{call.reference}-v{plist.version}",
                         title=_("Project list"))


exports.register("selection.list", authorize=_list_authorize, build=_list_table, label=_l("Project list"))


@bp.route("/lists/<int:list_id>/export.<fmt>")
@role_required(*JOINT_ROLES)
def project_list_export(list_id: int, fmt: str):
    return exports.respond("selection.list", fmt, list_id=list_id)


# ---------------------------------------------------------------- the scenarios compared


def _scenarios_table(user, query, call_id: int) -> exports.Table:
    from cfp.selection.funding import compare_scenarios

    call = db.session.get(Call, call_id)
    scenarios = compare_scenarios(call, scenario_lists(call, query))
    refs = {e.proposal_id: e.proposal.reference for sc in scenarios for e in sc.plist.entries}
    years = list(range(1, call.project_years + 1))
    columns = [
        exports.Column(_("Version"), lambda sc: sc.plist.version, "int"),
        exports.Column(_("State"), lambda sc: sc.plist.state.label),
    ]
    for side in call.sides:
        aid = side.agency_id
        for y in years:
            columns.append(exports.Column(_("%(side)s year %(y)s", side=side.agency.short_name, y=y),
                                          lambda sc, aid=aid, y=y: sc.totals.get((aid, y), Decimal(0)), "money",
                                          currency=side.currency))
    columns += [
        exports.Column(_("Funded proposals"), lambda sc: len(sc.funded), "int"),
        exports.Column(_("Funded here, not in the first"), lambda sc: ", ".join(sorted(refs[i] for i in sc.added))),
        exports.Column(_("Funded in the first, not here"), lambda sc: ", ".join(sorted(refs[i] for i in sc.dropped))),
        exports.Column(_("Notes"), lambda sc: sc.plist.notes),
    ]
    return exports.Table("scenarios", columns, scenarios, prefix=call.reference, title=_("Scenarios"))


exports.register("selection.scenarios", authorize=_call_authorize, build=_scenarios_table, label=_l("Scenarios"))


@bp.route("/calls/<int:call_id>/scenarios/export.<fmt>")
@role_required(*JOINT_ROLES)
def scenarios_export(call_id: int, fmt: str):
    return exports.respond("selection.scenarios", fmt, call_id=call_id)
