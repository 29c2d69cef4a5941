"""What a joint proposal holds (the content both PIs edit) and what it costs each side:
the editor's content, the mobility rule, budget totals, and the snapshot kept per version."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _

from cfp.core.errors import DomainError
from cfp.core.types import money
from cfp.proposals.models import BudgetLine, MobilityTrip, Proposal, ProposalMember
from cfp.proposals.vocabulary import (
    BUDGET_CATEGORIES,
    CAREER_STAGES,
    MEMBER_ROLES,
    Vocabulary,
    outside,
)


@dataclass
class Member:
    agency_id: int
    name: str
    role: str = ""
    career_stage: str = ""
    affiliation: str = ""


@dataclass
class Trip:
    from_agency_id: int
    to_agency_id: int
    traveller: str
    days: int
    year: int


@dataclass
class Line:
    agency_id: int
    year: int
    category: str
    amount: Decimal


def mobility_costs(proposal: Proposal, trips=None) -> dict[int, Decimal]:
    """Each side's cost of the mobility plan, by the usual bilateral rule: the sending
    side pays the international travel (its travel cap per trip), the receiving side
    pays the stay (its per diem times the days)."""
    call = proposal.call
    costs = {a.id: Decimal(0) for a in call.agencies}
    for trip in proposal.trips if trips is None else trips:
        sending, receiving = call.side(trip.from_agency_id), call.side(trip.to_agency_id)
        if sending is not None and sending.travel_cap is not None:
            costs[trip.from_agency_id] += sending.travel_cap
        if receiving is not None and receiving.per_diem is not None:
            costs[trip.to_agency_id] += receiving.per_diem * int(trip.days or 0)
    return costs


def budget_totals(proposal: Proposal) -> dict[int, Decimal]:
    totals = {a.id: Decimal(0) for a in proposal.call.agencies}
    for line in proposal.budget_lines:
        totals[line.agency_id] = totals.get(line.agency_id, Decimal(0)) + Decimal(line.amount)
    return totals


def itemised(proposal: Proposal) -> bool:
    """Does the proposal request its budget lines plus its mobility plan? Older ones
    (and two-stage pre-proposals) may request a sum typed as such, with neither."""
    return bool(proposal.budget_lines or proposal.trips)


def side_totals(proposal: Proposal) -> dict[int, dict]:
    """Per side: budget lines, mobility cost and their total, the amount requested: the
    one computation of it, which every page, check and save shows or uses. Without any
    budget line or trip, the amount requested is the sum stored on the side."""
    if not itemised(proposal):
        stored = {s.agency_id: s.requested_amount or 0 for s in proposal.sides}
        return {a.id: {"budget": None, "mobility": None, "total": money(stored.get(a.id, 0)), "itemised": False}
                for a in proposal.call.agencies}
    return _sums(proposal)


def _sums(proposal: Proposal) -> dict[int, dict]:
    budget, mobility = budget_totals(proposal), mobility_costs(proposal)
    return {aid: {"budget": money(budget[aid]), "mobility": money(mobility[aid]),
                  "total": money(budget[aid] + mobility[aid]), "itemised": True} for aid in budget}


@dataclass
class ProposalContent:
    title: str
    acronym: str = ""
    abstract: str = ""
    keywords: str = ""
    priority_area_id: int | None = None
    duration_months: int | None = None
    # per side (agency_id -> value)
    institutions: dict[int, str] | None = None
    requested_amounts: dict[int, Decimal] | None = None
    pi_has_phd: dict[int, bool | None] | None = None
    institution_countries: dict[int, str] | None = None
    # None: leave as they are; a list replaces them all.
    members: list[Member] | None = None
    trips: list[Trip] | None = None
    budget_lines: list[Line] | None = None


def snapshot(proposal: Proposal) -> dict:
    return {
        "title": proposal.title, "acronym": proposal.acronym, "abstract": proposal.abstract,
        "keywords": proposal.keywords, "priority_area_id": proposal.priority_area_id,
        "duration_months": proposal.duration_months,
        "sides": {
            str(s.agency_id): {"institution": s.institution, "requested_amount": str(money(s.requested_amount or 0)),
                               "pi": s.pi.display_name if s.pi else "", "pi_has_phd": s.pi_has_phd,
                               "institution_country": s.institution_country or ""}
            for s in proposal.sides
        },
        "members": [
            {"agency_id": m.agency_id, "name": m.name, "role": m.role, "career_stage": m.career_stage,
             "affiliation": m.affiliation} for m in proposal.members
        ],
        "trips": [
            {"from_agency_id": t.from_agency_id, "to_agency_id": t.to_agency_id, "traveller": t.traveller,
             "days": t.days, "year": t.year} for t in proposal.trips
        ],
        "budget_lines": [
            {"agency_id": b.agency_id, "year": b.year, "category": b.category, "amount": str(b.amount)}
            for b in proposal.budget_lines
        ],
        "documents": [
            {"agency_id": d.agency_id, "kind": d.kind, "name": d.original_name, "pages": d.pages,
             "size": d.size, "sha256": d.sha256} for d in proposal.documents
        ],
    }


def _check_terms(vocabulary: Vocabulary, new: list[str], stored: list[str]) -> None:
    """A value comes from its field's vocabulary, or is one the proposal already holds."""
    unknown = [v for v in outside(vocabulary, (n.strip() for n in new)) if v not in stored]
    if unknown:
        raise DomainError(_("“%(value)s” is not one of the choices offered for this field.", value=unknown[0]))


def apply_content(proposal: Proposal, content: ProposalContent) -> None:
    call = proposal.call
    if content.members is not None:
        _check_terms(MEMBER_ROLES, [m.role or "" for m in content.members], [m.role for m in proposal.members])
        _check_terms(CAREER_STAGES, [m.career_stage or "" for m in content.members],
                     [m.career_stage for m in proposal.members])
    if content.budget_lines is not None:
        _check_terms(BUDGET_CATEGORIES, [b.category for b in content.budget_lines],
                     [b.category for b in proposal.budget_lines])
    if content.priority_area_id is not None and content.priority_area_id not in {
        a.id for a in call.priority_areas
    }:
        raise DomainError(_("Choose one of the call's priority areas."))
    proposal.title = content.title.strip()
    proposal.acronym = (content.acronym or "").strip()
    proposal.abstract = _text(content.abstract, proposal.abstract)
    proposal.keywords = (content.keywords or "").strip()
    proposal.priority_area_id = content.priority_area_id
    proposal.duration_months = content.duration_months
    agency_ids = {a.id for a in call.agencies}
    was_itemised = itemised(proposal)
    if proposal.pre_submitted_at is not None:
        for side in proposal.sides:
            changed_institution = (content.institutions and side.agency_id in content.institutions
                                   and (content.institutions[side.agency_id] or "").strip() != side.institution)
            changed_country = (content.institution_countries is not None
                               and side.agency_id in content.institution_countries
                               and (content.institution_countries[side.agency_id] or "").strip()
                               != (side.institution_country or ""))
            if changed_institution or changed_country:
                raise DomainError(_("The consortium is frozen since the pre-proposal: the PIs and their "
                                    "institutions cannot change in the full proposal."))
    if content.members is not None:
        if any(m.agency_id not in agency_ids for m in content.members):
            raise DomainError(_("A team member must belong to one of the call's two sides."))
        _replace(proposal.members, [
            ProposalMember(agency_id=m.agency_id, name=m.name.strip(), role=(m.role or "").strip(),
                           career_stage=(m.career_stage or "").strip(),
                           affiliation=(m.affiliation or "").strip())
            for m in content.members
        ], ("agency_id", "name", "role", "career_stage", "affiliation"))
    if content.trips is not None:
        for t in content.trips:
            if {t.from_agency_id, t.to_agency_id} != agency_ids:
                raise DomainError(_("A trip goes from one side of the call to the other."))
        _replace(proposal.trips, [
            MobilityTrip(from_agency_id=t.from_agency_id, to_agency_id=t.to_agency_id,
                         traveller=t.traveller.strip(), days=t.days, year=t.year)
            for t in content.trips
        ], ("from_agency_id", "to_agency_id", "traveller", "days", "year"))
    if content.budget_lines is not None:
        if any(b.agency_id not in agency_ids for b in content.budget_lines):
            raise DomainError(_("A budget line must belong to one of the call's two sides."))
        _replace(proposal.budget_lines, [
            BudgetLine(agency_id=b.agency_id, year=b.year, category=b.category.strip(),
                       amount=Decimal(b.amount).quantize(Decimal("0.01")))
            for b in content.budget_lines
        ], ("agency_id", "year", "category", "amount"))
    totals = _sums(proposal)
    # Lines or trips, now or before this change: the request is their total, computed here.
    # Without any, a sum typed as such (older forms) is kept unless a new one is given.
    computed = was_itemised or itemised(proposal)
    for side in proposal.sides:
        if content.institutions and side.agency_id in content.institutions:
            side.institution = (content.institutions[side.agency_id] or "").strip()
        if content.pi_has_phd is not None and side.agency_id in content.pi_has_phd:
            side.pi_has_phd = content.pi_has_phd[side.agency_id]
        if content.institution_countries is not None and side.agency_id in content.institution_countries:
            side.institution_country = (content.institution_countries[side.agency_id] or "").strip()
        if computed:
            side.requested_amount = totals[side.agency_id]["total"]
        elif content.requested_amounts and side.agency_id in content.requested_amounts:
            amount = content.requested_amounts[side.agency_id]
            side.requested_amount = Decimal(amount or 0)


def _lines(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _text(new: str | None, stored: str | None) -> str:
    """A long text with its line breaks as LF: browsers send CR LF whatever was stored, so
    a text the user did not touch (equal but for its line breaks) stays as stored."""
    if _lines(new) == _lines(stored):
        return stored or ""
    return _lines(new)


def _replace(current: list, new: list, fields: tuple[str, ...]) -> None:
    """Replace a collection's rows, leaving it untouched when nothing changed."""
    def key(row):
        return tuple(str(getattr(row, f)) if f == "amount" else getattr(row, f) for f in fields)
    if [key(r) for r in current] == [key(r) for r in new]:
        return
    current[:] = new
