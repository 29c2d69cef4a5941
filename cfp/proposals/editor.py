"""The proposal editor's form and the proposal's content: filling the form's rows from a
proposal, labelling it for the call's two sides, and reading what was typed back into a
`ProposalContent` for the operations."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from cfp.calls.models import Call
from cfp.core.forms import options
from cfp.proposals.content import Line, Member, ProposalContent, Trip
from cfp.proposals.forms import BLANK_ROWS, BudgetLineForm, MemberForm, ProposalForm, TripForm
from cfp.proposals.models import Proposal
from cfp.proposals.vocabulary import BUDGET_CATEGORIES, CAREER_STAGES, MEMBER_ROLES


def content_from_form(form: ProposalForm, call: Call) -> ProposalContent:
    a, b = call.agencies
    itemised = "members-0-name" in request.form  # the full editor (older forms lack the lists)
    return ProposalContent(
        title=form.title.data, acronym=form.acronym.data, abstract=form.abstract.data,
        keywords=form.keywords.data, priority_area_id=form.priority_area_id.data or None,
        duration_months=form.duration_months.data,
        institutions={a.id: form.institution_a.data, b.id: form.institution_b.data},
        # Sums typed as such: only from a form that shows them (the editor computes them).
        requested_amounts=({a.id: form.amount_a.data, b.id: form.amount_b.data}
                           if "amount_a" in request.form else None),
        pi_has_phd={a.id: _yes_no(form.phd_a.data), b.id: _yes_no(form.phd_b.data)} if itemised else None,
        institution_countries={a.id: form.country_a.data, b.id: form.country_b.data} if itemised else None,
        members=[
            Member(agency_id=e.agency_id.data, name=e.name.data, role=e.role.data or "",
                   career_stage=e.career_stage.data or "", affiliation=e.affiliation.data or "")
            for e in (m.form for m in form.members) if not e.is_empty
        ] if itemised else None,
        trips=[
            Trip(*(int(x) for x in e.direction.data.split("-")), traveller=e.traveller.data,
                 days=e.days.data, year=e.year.data)
            for e in (t.form for t in form.trips) if not e.is_empty
        ] if itemised else None,
        budget_lines=[
            Line(agency_id=e.agency_id.data, year=e.year.data, category=e.category.data, amount=e.amount.data)
            for e in (line.form for line in form.budget_lines) if not e.is_empty
        ] if itemised else None,
    )


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def fill_rows(form: ProposalForm, proposal: Proposal | None) -> None:
    """On a first display: the proposal's rows, then a few empty ones."""
    for m in proposal.members if proposal else []:
        form.members.append_entry({"agency_id": m.agency_id, "name": m.name, "role": m.role,
                                   "career_stage": m.career_stage, "affiliation": m.affiliation})
    for t in proposal.trips if proposal else []:
        form.trips.append_entry({"direction": f"{t.from_agency_id}-{t.to_agency_id}",
                                 "traveller": t.traveller, "days": t.days, "year": t.year})
    for line in proposal.budget_lines if proposal else []:
        form.budget_lines.append_entry({"agency_id": line.agency_id, "year": line.year,
                                        "category": line.category, "amount": line.amount})
    for _i in range(BLANK_ROWS):
        form.members.append_entry()
        form.trips.append_entry()
        form.budget_lines.append_entry()


def prepare_form(form: ProposalForm, call: Call, proposal: Proposal | None = None) -> list:
    """Choices and labels for the call's two sides. The lists' selects offer their
    vocabulary and, besides, each value the proposal holds outside it: what is stored is
    what is selected, and saving the form untouched keeps it."""
    members = proposal.members if proposal else []
    lines = proposal.budget_lines if proposal else []
    roles = MEMBER_ROLES.options(keep=[m.role for m in members])
    stages = CAREER_STAGES.options(keep=[m.career_stage for m in members])
    categories = BUDGET_CATEGORIES.options(keep=[line.category for line in lines])
    form.priority_area_id.choices = options([(0, "—")] + [(p.id, p.name) for p in call.priority_areas])
    a, b = call.agencies
    side_choices = options([(a.id, a.short_name), (b.id, b.short_name)])
    directions = options([(f"{a.id}-{b.id}", f"{a.short_name} → {b.short_name}"),
                          (f"{b.id}-{a.id}", f"{b.short_name} → {a.short_name}")])
    form.row_templates = {  # blank rows the page copies to add one (see editor_rows.js)
        "members": MemberForm(prefix="members-__index__-"),
        "trips": TripForm(prefix="trips-__index__-"),
        "budget_lines": BudgetLineForm(prefix="budget_lines-__index__-"),
    }
    for member in [e.form for e in form.members] + [form.row_templates["members"]]:
        member.agency_id.choices = side_choices
        member.role.choices, member.career_stage.choices = roles, stages
    for line in [e.form for e in form.budget_lines] + [form.row_templates["budget_lines"]]:
        line.agency_id.choices = side_choices
        line.category.choices = categories
    for trip in [e.form for e in form.trips] + [form.row_templates["trips"]]:
        trip.direction.choices = directions
    sides = []
    for agency, inst, amount, phd, country in (
        (a, form.institution_a, form.amount_a, form.phd_a, form.country_a),
        (b, form.institution_b, form.amount_b, form.phd_b, form.country_b),
    ):
        call_side = call.side(agency)
        inst.label.text = _("Institution (%(side)s)", side=agency.short_name)
        phd.label.text = _("The %(side)s PI holds a PhD", side=agency.short_name)
        country.label.text = _("Country of the %(side)s institution", side=agency.short_name)
        amount.label.text = _("Requested from %(side)s (%(cur)s, at most %(cap)s)",
                              side=agency.short_name, cur=call_side.currency, cap=call_side.max_request)
        sides.append((agency, inst, amount, phd, country))
    return sides
