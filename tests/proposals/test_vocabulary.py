"""One vocabulary per field (a member's role and career stage, a budget line's category):
the editor never changes a stored value the user did not touch, even one outside the
vocabulary, and every page shows the translated label, never the stored code."""
from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib.resources import files

import pytest

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.content import snapshot
from cfp.proposals.history import compare
from cfp.proposals.models import BudgetLine, ProposalMember
from cfp.proposals.vocabulary import BUDGET_CATEGORIES, CAREER_STAGES, MEMBER_ROLES
from tests import factories as f
from tests.proposals.browser import form_data


@pytest.fixture
def draft(app):
    """A draft holding values inside and outside the vocabularies (older data)."""
    cn, be, committee = f.world()
    call = f.call(committee)
    pi_cn, pi_be = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be, amounts=("1000", "1200"))  # the lines below
    proposal.members = [
        ProposalMember(agency_id=cn.id, name="Wang Fang", role="co-investigator",
                       career_stage="phd student", affiliation="Tsinghua University"),
        ProposalMember(agency_id=be.id, name="Anne Dupont", role="deputy coordinator",
                       career_stage="associate professor", affiliation="UCLouvain"),
    ]
    proposal.budget_lines = [
        BudgetLine(agency_id=cn.id, year=1, category="consumables", amount=Decimal("1000.00")),
        BudgetLine(agency_id=be.id, year=1, category="travel", amount=Decimal("500.00")),
        BudgetLine(agency_id=be.id, year=2, category="subcontracting", amount=Decimal("700.00")),
    ]
    db.session.commit()
    return proposal, pi_cn


def test_saving_the_editor_untouched_keeps_values_outside_the_vocabularies(draft, client):
    proposal, pi = draft
    before, version = snapshot(proposal), proposal.version
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    response = client.post(f"/proposals/{proposal.id}/edit", data=form_data(page, "proposal-editor"))
    assert response.status_code == 302, response.data.decode()[:3000]
    db.session.refresh(proposal)
    assert snapshot(proposal) == before
    assert proposal.version == version
    assert [m.career_stage for m in proposal.members] == ["phd student", "associate professor"]
    assert [b.category for b in proposal.budget_lines] == ["consumables", "travel", "subcontracting"]


def test_the_editor_offers_labels_and_marks_a_stored_value_outside_the_list(draft, client):
    proposal, pi = draft
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    assert '<option selected value="phd student">PhD student</option>' in page
    assert '<option selected value="travel">other travel</option>' in page
    assert '<option selected value="associate professor">associate professor (not in the list)</option>' in page
    assert '<option selected value="subcontracting">subcontracting (not in the list)</option>' in page


def test_a_new_value_outside_the_vocabulary_is_refused(draft, client):
    proposal, pi = draft
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    data = form_data(page, "proposal-editor")
    data["members-0-career_stage"] = "astronaut"
    response = client.post(f"/proposals/{proposal.id}/edit", data=data)
    assert response.status_code == 422
    assert "Not a valid choice" in response.data.decode()
    db.session.refresh(proposal)
    assert proposal.members[0].career_stage == "phd student"


def test_the_proposal_page_and_its_history_show_labels_never_codes(draft, client):
    proposal, pi = draft
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "<td>PhD student</td>" in page and "<td>phd student</td>" not in page
    assert "<td>other travel</td>" in page and "<td>travel</td>" not in page
    assert "associate professor" in page and "not in the list" in page
    old = snapshot(proposal)
    new = snapshot(proposal) | {"budget_lines": []}
    budget = next(c for c in compare(proposal, old, new) if c.label == "Budget")
    assert "other travel" in budget.old and "· travel:" not in budget.old
    assert "subcontracting (not in the list)" in budget.old


def test_the_demo_data_takes_its_values_from_the_vocabularies():
    for name in ("call-2021.toml", "call-2022.toml", "call-2023.toml", "call-2024.toml"):
        data = tomllib.loads(files("cfp.demo").joinpath(name).read_text(encoding="utf-8"))
        for proposal in data.get("proposal", []):
            for member in proposal["members"]:
                assert member["role"] in MEMBER_ROLES, (name, member)
                assert member["stage"] in CAREER_STAGES, (name, member)
            for categories in proposal.get("budget", {}).values():
                for category in categories:
                    assert category in BUDGET_CATEGORIES, (name, category)


def test_the_operations_refuse_a_new_value_outside_the_vocabulary_and_keep_a_stored_one(draft):
    """Whatever writes a proposal (the editor, the demo, an import) goes through them."""
    from cfp.core.errors import DomainError
    from cfp.proposals.content import Line, Member, ProposalContent
    from cfp.proposals.operations import save_proposal

    proposal, pi = draft
    _cn, be = proposal.call.agencies

    def content(stage: str, category: str) -> ProposalContent:
        return ProposalContent(
            title=proposal.title, abstract=proposal.abstract, keywords=proposal.keywords,
            priority_area_id=proposal.priority_area_id, duration_months=proposal.duration_months,
            members=[Member(be.id, "Anne Dupont", "researcher", stage, "UCLouvain")],
            trips=[], budget_lines=[Line(be.id, 1, category, Decimal(700))])

    with pytest.raises(DomainError, match="astronaut"):
        save_proposal(pi, proposal, proposal.version, content("astronaut", "travel"))
    db.session.rollback()
    with pytest.raises(DomainError, match="catering"):
        save_proposal(pi, proposal, proposal.version, content("postdoc", "catering"))
    db.session.rollback()
    save_proposal(pi, proposal, proposal.version, content("associate professor", "subcontracting"))
    assert [(m.career_stage, b.category) for m, b in zip(proposal.members, proposal.budget_lines)] == [
        ("associate professor", "subcontracting")]


def test_the_pdf_of_what_was_submitted_shows_labels(draft):
    from cfp.proposals.receipt import submitted_pdf
    from tests import pdftools

    proposal, _pi = draft
    proposal.reference, proposal.submitted_at = "CN-BE-2099-001", proposal.created_at
    text = " ".join(pdftools.text(submitted_pdf(proposal, snapshot(proposal), "UTC")).split())
    assert "PhD student" in text and "other travel" in text
    assert "associate professor (not in the list)" in text
    assert "phd student" not in text
