"""The proposal editor in depth: team members, mobility plan and budget per side, the
costs each side pays by its own rules, caps, and everything listed on submission."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.content import mobility_costs, side_totals
from cfp.proposals.models import BudgetLine, MobilityTrip
from cfp.proposals.operations import missing_for_submission
from tests import factories as f
from tests.proposals.browser import form_data


@pytest.fixture
def draft(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    call.side(cn).per_diem, call.side(cn).travel_cap = Decimal(800), Decimal(9000)
    call.side(be).per_diem, call.side(be).travel_cap = Decimal(150), Decimal(1200)
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be)
    db.session.commit()
    return proposal, cn, be, pi_cn, pi_be


def editor_data(proposal, cn, be, **extra):
    data = {
        "version": proposal.version, "title": proposal.title, "acronym": proposal.acronym,
        "abstract": proposal.abstract, "keywords": proposal.keywords,
        "priority_area_id": proposal.priority_area_id, "duration_months": "24",
        "institution_a": "Tsinghua University", "institution_b": "UCLouvain",
        "members-0-agency_id": cn.id, "members-0-name": "Wang Fang", "members-0-role": "co-investigator",
        "members-0-career_stage": "postdoc", "members-0-affiliation": "Tsinghua University",
        "members-1-agency_id": be.id, "members-1-name": "",
        # A researcher of CN spends 10 days in Belgium; one of BE 20 days in China.
        "trips-0-direction": f"{cn.id}-{be.id}", "trips-0-traveller": "Wang Fang",
        "trips-0-days": "10", "trips-0-year": "1",
        "trips-1-direction": f"{be.id}-{cn.id}", "trips-1-traveller": "Anne Dupont",
        "trips-1-days": "20", "trips-1-year": "2",
        "budget_lines-0-agency_id": cn.id, "budget_lines-0-year": "1",
        "budget_lines-0-category": "personnel", "budget_lines-0-amount": "100000",
        "budget_lines-1-agency_id": be.id, "budget_lines-1-year": "1",
        "budget_lines-1-category": "consumables", "budget_lines-1-amount": "5000",
        "budget_lines-2-agency_id": be.id, "budget_lines-2-year": "", "budget_lines-2-category": "other",
        "budget_lines-2-amount": "",
    }
    data.update(extra)
    return data


def test_the_editor_saves_members_trips_and_budget_and_computes_each_sides_cost(draft, client):
    proposal, cn, be, pi_cn, _ = draft
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    assert "the sending side pays the international travel" in page
    response = client.post(f"/proposals/{proposal.id}/edit", data=editor_data(proposal, cn, be))
    assert response.status_code == 302, response.data.decode()[:2000]
    db.session.refresh(proposal)
    assert [(m.name, m.career_stage) for m in proposal.members] == [("Wang Fang", "postdoc")]
    assert [(t.traveller, t.days, t.year) for t in proposal.trips] == [("Wang Fang", 10, 1), ("Anne Dupont", 20, 2)]
    assert len(proposal.budget_lines) == 2  # the empty row is ignored
    # CN sends one trip (travel 9000) and hosts 20 days (20 × 800); BE the reverse.
    assert mobility_costs(proposal) == {cn.id: Decimal(25000), be.id: Decimal(2700)}
    totals = side_totals(proposal)
    assert totals[cn.id]["total"] == Decimal(125000) and totals[be.id]["total"] == Decimal(7700)
    assert proposal.side(cn).requested_amount == Decimal(125000)
    assert proposal.side(be).requested_amount == Decimal(7700)
    # The saved state, with its lists, is a version.
    assert proposal.version == 2
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "Wang Fang" in page and "CN¥125,000.00" in page and "€7,700.00" in page


def test_a_trip_row_half_filled_is_shown_with_its_errors_and_keeps_what_was_typed(draft, client):
    proposal, cn, be, pi_cn, _ = draft
    f.login(client, pi_cn)
    response = client.post(f"/proposals/{proposal.id}/edit",
                           data=editor_data(proposal, cn, be, **{"trips-1-days": ""}))
    assert response.status_code == 422
    page = response.data.decode()
    assert "Needed for a trip." in page and "Anne Dupont" in page
    db.session.refresh(proposal)
    assert proposal.version == 1 and proposal.trips == []


def test_a_proposal_over_budget_is_refused_on_submission_saying_by_how_much(draft, client):
    proposal, cn, be, pi_cn, pi_be = draft
    f.login(client, pi_cn)
    data = editor_data(proposal, cn, be, **{"budget_lines-1-amount": "29000"})  # BE: 29000 + 2700
    assert client.post(f"/proposals/{proposal.id}/edit", data=data).status_code == 302
    db.session.refresh(proposal)
    missing = [str(m) for m in missing_for_submission(proposal)]
    assert any("WBI request within the cap of 30000.00 EUR (it is 31700.00 EUR, 1700.00 EUR over)" in m
               for m in missing), missing
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "over the maximum by €1,700.00" in page
    for pi in (pi_cn, pi_be):
        client.post("/logout")
        f.login(client, pi)
        client.post(f"/proposals/{proposal.id}/confirm", data={"version": proposal.version, "agree": "y"})
    page = client.post(f"/proposals/{proposal.id}/submit", follow_redirects=True).data.decode()
    assert "1700.00 EUR over" in page
    db.session.refresh(proposal)
    assert proposal.reference is None


def test_submission_lists_everything_that_is_missing(draft):
    proposal, cn, be, pi_cn, pi_be = draft
    call = proposal.call
    call.side(cn).required_documents = ["CV of the PI"]
    proposal.title, proposal.abstract, proposal.priority_area_id, proposal.duration_months = "", "", None, None
    proposal.side(be).institution = ""
    db.session.flush()
    missing = [str(m) for m in missing_for_submission(proposal)]
    for expected in ("a title", "an abstract", "a priority area", "a duration",
                     "the institution of the WBI side", "the document \u201cCV of the PI\u201d (MOST)",
                     f"the confirmation of version 1 by {pi_cn.name} (MOST)",
                     f"the confirmation of version 1 by {pi_be.name} (WBI)"):
        assert expected in missing, (expected, missing)


def test_drafts_save_incomplete_members(draft, client):
    proposal, cn, be, pi_cn, _ = draft
    f.login(client, pi_cn)
    data = editor_data(proposal, cn, be, **{"members-0-role": "", "members-0-career_stage": ""})
    assert client.post(f"/proposals/{proposal.id}/edit", data=data).status_code == 302
    db.session.refresh(proposal)
    assert any("role, career stage and affiliation of Wang Fang" in str(m) for m in missing_for_submission(proposal))


def _figures(page: str, css: str) -> list[str]:
    return [text.split(" over ")[0].strip() for text in re.findall(rf'class="{css}"[^>]*>([^<]*)', page)]


def test_the_pi_table_and_the_totals_give_one_requested_figure(draft, client):
    """One computation of what each side requests, shown the same everywhere."""
    proposal, cn, be, pi_cn, _ = draft  # requests typed as sums (200,000 CNY and 20,000 EUR), no lines
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert _figures(page, "requested") == _figures(page, "total") == ["CN¥200,000.00", "€20,000.00"]
    # Lines and trips added since the last save (the stored sums are stale): their total.
    proposal.budget_lines.append(BudgetLine(agency_id=cn.id, year=1, category="personnel", amount=Decimal(378000)))
    proposal.trips.append(MobilityTrip(from_agency_id=be.id, to_agency_id=cn.id, traveller="Anne", days=10, year=1))
    db.session.commit()
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert _figures(page, "requested") == _figures(page, "total") == ["CN¥386,000.00", "€1,200.00"]
    assert side_totals(proposal)[cn.id]["total"] == Decimal(386000)


def test_a_request_typed_as_a_sum_survives_an_untouched_save(draft, client):
    proposal, _cn, _be, pi_cn, _ = draft
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    assert client.post(f"/proposals/{proposal.id}/edit", data=form_data(page, "proposal-editor")).status_code == 302
    db.session.refresh(proposal)
    assert [s.requested_amount for s in proposal.sides] == [Decimal(200000), Decimal(20000)]
    assert proposal.version == 1
