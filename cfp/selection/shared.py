"""Envelopes shared across calls. A call whose projects' first year falls in a given
calendar year (its first budget year) draws project year n from budget year
first + n - 1; where the committee has an envelope for a side and a budget year, every
check of a list, and the funding plan, count what the adopted lists of all the
committee's calls already committed to that year, in that side's currency."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import Call, JointCommittee
from cfp.core.audit import log_action
from cfp.core.errors import DomainError
from cfp.core.languages import money
from cfp.core.roles import require_secretariat
from cfp.extensions import db
from cfp.selection.models import (
    EntryAmount,
    EntryKind,
    ProjectList,
    ProjectListEntry,
    ProjectListState,
    SelectionSetting,
    SharedEnvelope,
)


def first_budget_year(call: Call) -> int | None:
    return db.session.scalar(sa.select(SelectionSetting.first_budget_year).filter_by(call_id=call.id))


def set_first_budget_year(actor, call: Call, year: int | None) -> None:
    require_secretariat(actor, call.committee_id)
    if year is not None and not 1900 < year < 2200:
        raise DomainError(_("Give the budget year as a year, e.g. 2031."))
    setting = db.session.scalar(sa.select(SelectionSetting).filter_by(call_id=call.id))
    if setting is None:
        setting = SelectionSetting(call_id=call.id)
        db.session.add(setting)
    before, setting.first_budget_year = setting.first_budget_year, year
    db.session.flush()
    log_action(actor, "call.first_budget_year", call, before={"first_budget_year": before},
               after={"first_budget_year": year})


def set_shared_envelopes(actor, committee: JointCommittee, amounts: dict[tuple[int, int], Decimal]) -> None:
    """{(agency id, budget year): amount}; an amount of None removes that envelope."""
    require_secretariat(actor, committee.id)
    current = {(e.agency_id, e.budget_year): e for e in db.session.scalars(
        sa.select(SharedEnvelope).filter_by(committee_id=committee.id))}
    for key, value in amounts.items():
        if value is not None and value < 0:
            raise DomainError(_("Amounts must be zero or more."))
        if value is None:
            if key in current:
                db.session.delete(current[key])
        elif key in current:
            current[key].amount = value
        else:
            db.session.add(SharedEnvelope(committee_id=committee.id, agency_id=key[0], budget_year=key[1],
                                          amount=value))
    db.session.flush()
    log_action(actor, "committee.shared_envelopes", committee,
               after={f"{a}/{y}": v for (a, y), v in amounts.items()})


def _envelopes(committee_id: int) -> dict[tuple[int, int], Decimal]:
    return {(e.agency_id, e.budget_year): e.amount for e in db.session.scalars(
        sa.select(SharedEnvelope).filter_by(committee_id=committee_id))}


def _committed(committee_id: int, excluding: int | None = None) -> dict[tuple[int, int], Decimal]:
    """Per (side, budget year): what the adopted lists of the committee's calls fund."""
    rows = db.session.execute(
        sa.select(EntryAmount.agency_id, EntryAmount.year, SelectionSetting.first_budget_year,
                  sa.func.sum(EntryAmount.amount))
        .join(ProjectListEntry, EntryAmount.entry_id == ProjectListEntry.id)
        .join(ProjectList, ProjectListEntry.project_list_id == ProjectList.id)
        .join(Call, ProjectList.call_id == Call.id)
        .join(SelectionSetting, SelectionSetting.call_id == Call.id)
        .where(Call.committee_id == committee_id, ProjectList.state == ProjectListState.adopted,
               ProjectListEntry.kind == EntryKind.funded, SelectionSetting.first_budget_year.is_not(None),
               ProjectList.id != (excluding or 0))
        .group_by(EntryAmount.agency_id, EntryAmount.year, SelectionSetting.first_budget_year))
    totals: dict = defaultdict(Decimal)
    for agency_id, year, first, total in rows:
        totals[(agency_id, first + year - 1)] += Decimal(total)
    return totals


def shared_left(call: Call, excluding: int | None = None) -> dict[tuple[int, int], Decimal]:
    """Per (side, project year of `call`): what is left of the shared envelope of the
    budget year that project year falls in (only where there is one)."""
    first = first_budget_year(call)
    if first is None:
        return {}
    envelopes, spent = _envelopes(call.committee_id), _committed(call.committee_id, excluding)
    left = {}
    for side in call.sides:
        for year in range(1, call.project_years + 1):
            key = (side.agency_id, first + year - 1)
            if key in envelopes:
                left[(side.agency_id, year)] = envelopes[key] - spent.get(key, Decimal(0))
    return left


def shared_overruns(plist: ProjectList, proposed: dict[tuple[int, int], Decimal]) -> list[str]:
    """The shared budget years `plist` (its funded amounts: `proposed`) would overrun."""
    call = plist.call
    first = first_budget_year(call)
    if first is None or plist.state == ProjectListState.adopted:
        return []
    envelopes, spent = _envelopes(call.committee_id), _committed(call.committee_id, excluding=plist.amends_id)
    over = []
    for (agency_id, year), amount in sorted(proposed.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        key = (agency_id, first + year - 1)
        if key in envelopes and spent.get(key, Decimal(0)) + amount > envelopes[key]:
            side = call.side(agency_id)
            over.append(_("%(side)s budget year %(by)s (shared by the committee's calls): %(committed)s "
                          "committed by adopted lists and %(proposed)s on this one, over the shared "
                          "envelope of %(env)s", side=side.agency.short_name, by=key[1],
                          committed=money(spent.get(key, 0), side.currency), proposed=money(amount, side.currency),
                          env=money(envelopes[key], side.currency)))
    return over


@dataclass
class SharedUse:
    agency_id: int
    short_name: str
    currency: str
    budget_year: int
    envelope: Decimal
    committed: Decimal

    @property
    def left(self) -> Decimal:
        return self.envelope - self.committed


def shared_use(committee: JointCommittee) -> list[SharedUse]:
    spent = _committed(committee.id)
    rows = []
    for e in db.session.scalars(sa.select(SharedEnvelope).filter_by(committee_id=committee.id)
                                .order_by(SharedEnvelope.budget_year, SharedEnvelope.agency_id)):
        rows.append(SharedUse(e.agency_id, e.agency.short_name, e.agency.currency, e.budget_year, e.amount,
                              spent.get((e.agency_id, e.budget_year), Decimal(0))))
    return rows
