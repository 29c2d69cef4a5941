"""The joint ranking as a list: its search, sort and filters (cfp/core/listing.py). Its
order is computed in memory from both sides' ranking entries (normalised scores, vetoes,
tie-breaks), so its rows are searched, filtered and sorted in memory too (`rows_listing`);
each row keeps its place in the whole joint ranking."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from cfp.calls.models import Call
from cfp.core.listing import Filter, Listing, ListSpec, Sort, rows_listing, state_choices
from cfp.proposals.models import ProposalState
from cfp.selection.ranking import attach_proposals

JOINT_STATES = [ProposalState.in_review, ProposalState.reviewed, ProposalState.recommended,
                ProposalState.reserve, ProposalState.not_recommended, ProposalState.funded,
                ProposalState.rejected, ProposalState.withdrawn]


def joint_ranking_spec(call: Call) -> ListSpec:
    sorts = {"place": Sort(None), "proposal": Sort(None), "combined": Sort(None)}
    sorts |= {f"score-{a.short_name.lower()}": Sort(None) for a in call.agencies}
    return ListSpec(
        sorts=sorts, default="place", id_column=None, search=("reference", "acronym", "title"),
        filters=(
            Filter("passes", _l("Passes both sides"), lambda: [("yes", _l("yes")), ("no", _l("no"))], None),
            Filter("veto", _l("Vetoed by"), lambda: [(a.short_name.lower(), a.short_name) for a in call.agencies], None),
            Filter("state", _l("Status"), state_choices(JOINT_STATES), None),
        ))


def joint_ranking_rows(call: Call, ranking, listing: Listing, places: dict | None = None) -> list:
    """The joint ranking's rows `listing` keeps, in its order; `places` (proposal id ->
    place), when the caller has them. Searching or filtering by status reads every row's
    proposal (one query), on copies of the rows (a kept order's rows are shared)."""
    if listing.q or "state" in listing.filters:
        ranking = attach_proposals([r.copy() for r in ranking], sides=False)
    side = {a.short_name.lower(): a.id for a in call.agencies}
    if places is None:
        places = {r.proposal_id: place for place, r in enumerate(ranking, start=1)}

    def text(r):
        p = r.proposal
        return " ".join([r.reference or "", p.acronym or "", p.title or ""]) if p else (r.reference or "")

    def score(agency_id):
        return lambda r: r.sides[agency_id].mean_score if r.sides.get(agency_id) else None

    return rows_listing(
        listing, ranking, text=text,
        sort_values={"place": lambda r: places[r.proposal_id], "proposal": lambda r: r.reference or "", "combined": lambda r: r.combined,
                     **{f"score-{k}": score(v) for k, v in side.items()}},
        conditions={"passes": lambda r, v: r.passes_both == (v == "yes"),
                    "veto": lambda r, v: side[v] in r.vetoed_by,
                    "state": lambda r, v: r.proposal.state == ProposalState(v)})
