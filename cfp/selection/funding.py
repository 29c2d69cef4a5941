"""The funding plan and project lists: versions of the list, amounts per side and year,
envelopes per side and year, scenarios compared."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import Call
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.languages import money
from cfp.core.roles import require_secretariat
from cfp.core.states import change_state
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalState
from cfp.selection.models import (
    PROJECT_LIST_TRANSITIONS,
    EntryAmount,
    EntryKind,
    ProjectList,
    ProjectListEntry,
    ProjectListState,
    YearEnvelope,
)
from cfp.selection.ranking import joint_ranking
from cfp.selection.shared import shared_left, shared_overruns


def _split(total: Decimal, years: int) -> list[Decimal]:
    share = (total / years).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    amounts = [share] * years
    amounts[-1] = total - share * (years - 1)
    return amounts


def draft_project_list(actor, call: Call) -> ProjectList:
    """A new version of the list: recommended proposals to fund (in joint order),
    reserve ones after, with each side's requested amount spread over the years."""
    require_secretariat(actor, call.committee_id)
    version = (db.session.scalar(sa.select(sa.func.max(ProjectList.version)).filter_by(call_id=call.id)) or 0) + 1
    plist = ProjectList(call=call, version=version, created_by_id=actor.id)
    db.session.add(plist)
    years = call.project_years
    position = 0
    for row in joint_ranking(call):
        p = row.proposal
        if p.state not in (ProposalState.recommended, ProposalState.reserve):
            continue
        entry = ProjectListEntry(proposal=p, position=position,
                                 kind=EntryKind.funded if p.state == ProposalState.recommended else EntryKind.reserve)
        position += 1
        for side in p.sides:
            for year, amount in enumerate(_split(side.requested_amount, years), start=1):
                entry.amounts.append(EntryAmount(agency_id=side.agency_id, year=year, amount=amount))
        plist.entries.append(entry)
    if not plist.entries:
        raise DomainError(_("No proposal is recommended or in reserve yet; set the outcomes in the joint ranking first."))
    db.session.flush()
    log_action(actor, "project_list.draft", plist, after={"version": version, "entries": len(plist.entries)})
    return plist


def set_entry_amounts(actor, entry: ProjectListEntry, amounts: dict[tuple[int, int], Decimal],
                      reason: str = "") -> None:
    plist = entry.project_list
    if not plist.can_edit(actor):
        raise NotAllowed(_("Only a draft list can be changed; adopted lists are frozen."))
    before = {f"{a.agency_id}/{a.year}": a.amount for a in entry.amounts}
    current = {(a.agency_id, a.year): a for a in entry.amounts}
    changed = {k: v for k, v in amounts.items() if k not in current or current[k].amount != v}
    if not changed:
        return
    if not (reason or "").strip():
        raise DomainError(_("Give the reason for changing the amounts."))
    for key, value in amounts.items():
        if value is None or value < 0:
            raise DomainError(_("Amounts must be zero or more."))
        if key in current:
            current[key].amount = value
        else:
            entry.amounts.append(EntryAmount(agency_id=key[0], year=key[1], amount=value))
    log_action(actor, "project_list.amounts", plist, before=before | {"proposal_id": entry.proposal_id},
               after={f"{k[0]}/{k[1]}": v for k, v in changed.items()} | {"reason": reason.strip()})


def envelope_use(plist: ProjectList) -> dict[int, Decimal]:
    used: dict[int, Decimal] = defaultdict(Decimal)
    for entry in plist.entries:
        if entry.kind == EntryKind.funded:
            for a in entry.amounts:
                used[a.agency_id] += a.amount
    return used


def propose_project_list(actor, plist: ProjectList) -> ProjectList:
    require_secretariat(actor, plist.call.committee_id)
    over = envelope_overruns(plist)
    if over:
        raise DomainError(_("The list exceeds a side's budget envelope (%(over)s).", over="; ".join(over)))
    before = change_state(plist, ProjectListState.proposed, table=PROJECT_LIST_TRANSITIONS, what=_("The project list"))
    log_action(actor, "project_list.propose", plist, before={"state": before}, after={"state": plist.state})
    return plist


def committed(call: Call, excluding: int | None = None) -> dict[tuple[int, int], Decimal]:
    """What the call's adopted lists already fund, per side and project year, in each
    side's currency: a later list is checked against what is left. An amendment is
    checked without the list it replaces (`excluding`)."""
    rows = db.session.execute(
        sa.select(EntryAmount.agency_id, EntryAmount.year, sa.func.sum(EntryAmount.amount))
        .join(ProjectListEntry, EntryAmount.entry_id == ProjectListEntry.id)
        .join(ProjectList, ProjectListEntry.project_list_id == ProjectList.id)
        .where(ProjectList.call_id == call.id, ProjectList.state == ProjectListState.adopted,
               ProjectListEntry.kind == EntryKind.funded, ProjectList.id != (excluding or 0))
        .group_by(EntryAmount.agency_id, EntryAmount.year))
    return {(agency_id, year): Decimal(total) for agency_id, year, total in rows}


def funded_per_year(plist: ProjectList) -> dict[tuple[int, int], Decimal]:
    totals: dict = defaultdict(Decimal)
    for entry in plist.entries:
        if entry.kind == EntryKind.funded:
            for a in entry.amounts:
                totals[(a.agency_id, a.year)] += a.amount
    return totals


@dataclass
class EnvelopeUse:
    side: object  # CallSide
    year: int
    envelope: Decimal
    committed: Decimal  # by adopted lists
    proposed: Decimal  # by lists proposed and awaiting adoption

    @property
    def left(self) -> Decimal:
        return self.envelope - self.committed - self.proposed


def envelope_use_by_year(call: Call) -> list[EnvelopeUse]:
    """Per side and project year: the envelope, what adopted lists committed, what the
    proposed lists ask, and what is left."""
    already = committed(call)
    proposed: dict = defaultdict(Decimal)
    for plist in db.session.scalars(sa.select(ProjectList).filter_by(call_id=call.id,
                                                                     state=ProjectListState.proposed)):
        for key, amount in funded_per_year(plist).items():
            proposed[key] += amount
    envelopes = year_envelopes(call)
    return [EnvelopeUse(side, year, envelopes[(side.agency_id, year)],
                        already.get((side.agency_id, year), Decimal(0)),
                        proposed.get((side.agency_id, year), Decimal(0)))
            for side in call.sides for year in range(1, call.project_years + 1)]


def envelope_overruns(plist: ProjectList) -> list[str]:
    """Each side and year whose envelope the list would overrun, counting what earlier
    adopted lists of the call committed; the whole envelope too."""
    call = plist.call
    already = committed(call, excluding=plist.amends_id) if plist.state != ProjectListState.adopted else {}
    proposed = funded_per_year(plist)
    over = []
    for (agency_id, year), envelope in sorted(year_envelopes(call).items(), key=lambda kv: (kv[0][1], kv[0][0])):
        before, now = already.get((agency_id, year), Decimal(0)), proposed.get((agency_id, year), Decimal(0))
        if before + now > envelope:
            side = call.side(agency_id)
            over.append(_("%(side)s year %(year)s: %(committed)s committed by earlier lists and %(proposed)s "
                          "on this one, over the envelope of %(env)s", side=side.agency.short_name, year=year,
                          committed=money(before, side.currency), proposed=money(now, side.currency),
                          env=money(envelope, side.currency)))
    over += shared_overruns(plist, proposed)
    for side in call.sides:
        before = sum((v for (aid, _y), v in already.items() if aid == side.agency_id), Decimal(0))
        now = sum((v for (aid, _y), v in proposed.items() if aid == side.agency_id), Decimal(0))
        if before + now > side.budget_envelope:
            over.append(_("%(side)s in all: %(committed)s committed and %(proposed)s on this list, over "
                          "the envelope of %(env)s", side=side.agency.short_name,
                          committed=money(before, side.currency), proposed=money(now, side.currency),
                          env=money(side.budget_envelope, side.currency)))
    return over


def year_envelopes(call: Call) -> dict[tuple[int, int], Decimal]:
    """Each side's envelope per project year, in its own currency: the recorded per-year
    envelope, or else the side's whole envelope spread evenly over the years."""
    years = call.project_years
    recorded = {(e.agency_id, e.year): e.amount
                for e in db.session.scalars(sa.select(YearEnvelope).filter_by(call_id=call.id))}
    result = {}
    for side in call.sides:
        even = _split(side.budget_envelope, years)
        for year in range(1, years + 1):
            result[(side.agency_id, year)] = recorded.get((side.agency_id, year), even[year - 1])
    return result


def set_year_envelopes(actor, call: Call, amounts: dict[tuple[int, int], Decimal]) -> None:
    require_secretariat(actor, call.committee_id)
    current = {(e.agency_id, e.year): e for e in db.session.scalars(sa.select(YearEnvelope).filter_by(call_id=call.id))}
    for (agency_id, year), value in amounts.items():
        if value is None or value < 0:
            raise DomainError(_("Amounts must be zero or more."))
        if (agency_id, year) in current:
            current[(agency_id, year)].amount = value
        else:
            db.session.add(YearEnvelope(call_id=call.id, agency_id=agency_id, year=year, amount=value))
    db.session.flush()
    log_action(actor, "call.year_envelopes", call, after={f"{a}/{y}": v for (a, y), v in amounts.items()})


@dataclass
class FundingStop:
    proposal: Proposal
    agency_id: int
    year: int
    left: Decimal
    needed: Decimal


def plan_funding(actor, call: Call) -> ProjectList:
    """A draft list (a scenario) made by walking down the joint ranking: each proposal
    that passes both sides is funded while EACH side's envelope for EACH year still
    covers that side's amount; the first that does not fit stops the funded list (the
    notes say which side's envelope ran out, for which year) and it and the rest go to
    the reserve list, in order."""
    require_secretariat(actor, call.committee_id)
    version = (db.session.scalar(sa.select(sa.func.max(ProjectList.version)).filter_by(call_id=call.id)) or 0) + 1
    plist = ProjectList(call=call, version=version, created_by_id=actor.id)
    db.session.add(plist)
    years = call.project_years
    left = year_envelopes(call)
    for key, amount in committed(call).items():  # what earlier adopted lists fund
        left[key] = left.get(key, Decimal(0)) - amount
    for key, amount in shared_left(call).items():  # what the committee's shared budget years have left
        left[key] = min(left.get(key, Decimal(0)), amount)
    stop: FundingStop | None = None
    position = 0
    reasons: list[dict] = []
    rows = joint_ranking(call)
    for row in rows:
        p = row.proposal
        out = _why_out(row, call)
        if out is not None:
            reasons.append({"proposal_id": p.id, "placement": "out", **out})
            continue
        need = {(side.agency_id, year): amount for side in p.sides
                for year, amount in enumerate(_split(side.requested_amount, years), start=1)}
        if stop is None:
            short = next(((aid, y) for (aid, y), amount in sorted(need.items(), key=lambda kv: (kv[0][1], kv[0][0]))
                          if amount > left.get((aid, y), Decimal(0))), None)
            if short is not None:
                stop = FundingStop(p, short[0], short[1], left.get(short, Decimal(0)), need[short])
        kind = EntryKind.funded if stop is None else EntryKind.reserve
        if kind == EntryKind.funded:
            for key, amount in need.items():
                left[key] -= amount
            reasons.append({"proposal_id": p.id, "placement": "funded", "code": "fits"})
        elif stop.proposal is p:
            reasons.append({"proposal_id": p.id, "placement": "reserve", "code": "envelope",
                            "agency_id": stop.agency_id, "year": stop.year, "left": str(stop.left),
                            "need": str(stop.needed)})
        else:
            reasons.append({"proposal_id": p.id, "placement": "reserve", "code": "below_stop",
                            "stop_id": stop.proposal.id})
        entry = ProjectListEntry(proposal=p, position=position, kind=kind)
        position += 1
        for (agency_id, year), amount in need.items():
            entry.amounts.append(EntryAmount(agency_id=agency_id, year=year, amount=amount))
        plist.entries.append(entry)
    ranked = {r.proposal.id for r in rows}
    for p in db.session.scalars(sa.select(Proposal).where(
            Proposal.call_id == call.id, Proposal.id.not_in(ranked),
            Proposal.state.in_(UNRANKED_STATES)).order_by(Proposal.reference)):
        reasons.append({"proposal_id": p.id, "placement": "out", "code": "not_reviewed",
                        "agency_ids": [a.id for a in call.agencies]})
    plist.plan_reasons = reasons
    if not plist.entries:
        raise DomainError(_("No proposal passes both sides yet; nothing to fund."))
    if stop is not None:
        side = call.side(stop.agency_id)
        plist.notes = _("Funding stops at %(ref)s: the %(side)s envelope for year %(year)s has "
                        "%(left)s %(cur)s left and it needs %(need)s %(cur)s.",
                        ref=stop.proposal.reference, side=side.agency.short_name, year=stop.year,
                        left=stop.left, need=stop.needed, cur=side.currency)
    else:
        plist.notes = _("Every proposal passing both sides fits within both envelopes.")
    db.session.flush()
    log_action(actor, "project_list.plan", plist, after={
        "version": version, "funded": sum(1 for e in plist.entries if e.kind == EntryKind.funded),
        "stop": plist.notes})
    return plist


SELECTABLE = {ProposalState.reviewed, ProposalState.recommended, ProposalState.reserve}
UNRANKED_STATES = {ProposalState.submitted, ProposalState.eligible, ProposalState.in_review}


def _why_out(row, call: Call) -> dict | None:
    """Why the plan leaves a ranked proposal out, or None if it may be funded."""
    p = row.proposal
    if p.state == ProposalState.funded:
        return {"code": "funded"}
    unreviewed = [a.id for a in call.agencies
                  if row.sides.get(a.id) is None or row.sides[a.id].mean_score is None
                  or row.sides[a.id].reviews_count < call.side(a.id).reviewers_per_proposal]
    if p.state in UNRANKED_STATES or unreviewed:
        return {"code": "not_reviewed", "agency_ids": unreviewed or [a.id for a in call.agencies]}
    if not row.passes_both:
        return {"code": "veto", "agency_ids": row.vetoed_by}
    if p.state not in SELECTABLE:
        return {"code": "state", "state": p.state.value}
    return None


def plan_lines(plist: ProjectList) -> list[tuple[Proposal, str, str]]:
    """(proposal, placement, why) for every proposal a funding plan considered."""
    reasons = plist.plan_reasons or []
    proposals = {p.id: p for p in db.session.scalars(
        sa.select(Proposal).where(Proposal.id.in_([r["proposal_id"] for r in reasons])))}
    return [(proposals[r["proposal_id"]], r["placement"], explain(r, plist.call, proposals))
            for r in reasons if r["proposal_id"] in proposals]


def explain(reason: dict, call: Call, proposals: dict) -> str:
    """A plan's reason, in the viewer's language."""
    def sides(ids):
        return ", ".join(call.side(aid).agency.short_name for aid in ids)
    code = reason["code"]
    if code == "fits":
        return _("Fits what is left of both sides' envelopes for every year.")
    if code == "envelope":
        side = call.side(reason["agency_id"])
        return _("Funding stops here: the %(side)s envelope for year %(year)s has %(left)s left "
                 "and this proposal needs %(need)s.", side=side.agency.short_name, year=reason["year"],
                 left=money(reason["left"], side.currency), need=money(reason["need"], side.currency))
    if code == "below_stop":
        stop = proposals.get(reason["stop_id"])
        return _("Ranked below %(ref)s, where funding stops.", ref=stop.reference if stop else "?")
    if code == "funded":
        return _("Funded already, by an earlier decision.")
    if code == "not_reviewed":
        return _("Not yet reviewed by %(sides)s.", sides=sides(reason["agency_ids"]))
    if code == "veto":
        return _("Vetoed by %(sides)s: below its thresholds.", sides=sides(reason["agency_ids"]))
    return _("Its state is %(state)s.", state=ProposalState(reason["state"]).label)


def move_entry(actor, entry: ProjectListEntry, *, kind: EntryKind, position: int, reason: str) -> None:
    """Move a proposal within a draft list (between funded and reserve, or up and down),
    with a recorded reason."""
    plist = entry.project_list
    if not plist.can_edit(actor):
        raise NotAllowed(_("Only a draft list can be changed; adopted lists are frozen."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for this change."))
    before = {"kind": entry.kind, "position": entry.position}
    others = [e for e in plist.entries if e.id != entry.id]
    position = max(0, min(position, len(others)))
    others.insert(position, entry)
    for i, e in enumerate(others):
        e.position = i
    entry.kind = kind
    log_action(actor, "project_list.move", plist, before=before | {"proposal_id": entry.proposal_id},
               after={"kind": kind, "position": position, "reason": reason})


@dataclass
class Scenario:
    plist: ProjectList
    totals: dict  # (agency_id, year) -> Decimal funded
    funded: set  # proposal ids
    added: set  # funded here, not in the first scenario
    dropped: set  # funded in the first scenario, not here


def compare_scenarios(call: Call, lists: list[ProjectList]) -> list[Scenario]:
    """Draft plans side by side: totals per side and year, and which proposals each
    funds compared with the first."""
    result = []
    base: set | None = None
    for plist in lists:
        totals: dict = defaultdict(Decimal)
        funded = set()
        for entry in plist.entries:
            if entry.kind == EntryKind.funded:
                funded.add(entry.proposal_id)
                for a in entry.amounts:
                    totals[(a.agency_id, a.year)] += a.amount
        if base is None:
            base = funded
        result.append(Scenario(plist, dict(totals), funded, funded - base, base - funded))
    return result
