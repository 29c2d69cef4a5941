"""What a reviewer sees (issue 10): before accepting, enough to judge their expertise and
conflicts (title, abstract, call, due date); after declaring no conflict, the whole
submitted proposal (both teams, the mobility plan and its costs, both budgets, every
document, downloadable through a route checked on the server); the criteria with their
descriptions and scales. Never another reviewer's identity, never the other side's review."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.documents import document_path
from cfp.proposals.models import BudgetLine, MobilityTrip, ProposalMember, ProposalState
from cfp.reviews.models import AssignmentState
from tests import factories as f
from tests.reviews.test_mirror_review import submitted_review


def full_proposal():
    """An in-review proposal with both teams, a mobility plan, both budgets and documents."""
    cn, be, committee = f.world()
    call = f.call(committee)
    call.criteria[0].description = "Originality and soundness of the joint research plan."
    call.side(cn).travel_cap, call.side(cn).per_diem = Decimal(9000), Decimal(600)
    call.side(be).travel_cap, call.side(be).per_diem = Decimal(1100), Decimal(110)
    pi_cn = f.user(Role.researcher, agency=cn, name="Wang Fang")
    pi_be = f.user(Role.researcher, agency=be, name="Sophie Lambert")
    p = f.proposal(call, pi_cn, pi_be, state=ProposalState.in_review, title="Cooler cities")
    p.abstract = "Urban heat islands in Beijing and Brussels, measured and modelled."
    p.members = [
        ProposalMember(agency_id=cn.id, name="Zhang Min", role="co-investigator",
                       career_stage="postdoc", affiliation="Tsinghua University"),
        ProposalMember(agency_id=be.id, name="Romain Jadot", role="researcher",
                       career_stage="phd student", affiliation="UCLouvain"),
    ]
    p.trips = [MobilityTrip(from_agency_id=be.id, to_agency_id=cn.id, traveller="Romain Jadot",
                            days=30, year=1)]
    p.budget_lines = [
        BudgetLine(agency_id=cn.id, year=1, category="equipment", amount=Decimal("123456.00")),
        BudgetLine(agency_id=be.id, year=1, category="consumables", amount=Decimal("7654.00")),
    ]
    db.session.flush()
    documents = [f.document(p, cn, "Scientific CV of the PI", pi_cn),
                 f.document(p, be, "Letter of support", pi_be, pages=2)]
    return call, cn, be, p, documents


def test_after_declaring_no_conflict_a_reviewer_sees_the_whole_proposal(client):
    _call, cn, _be, p, documents = full_proposal()
    reviewer = f.reviewer(cn)
    mine = f.assignment(p, reviewer)
    f.login(client, reviewer)
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    # Both teams, with the PIs.
    for name in ("Wang Fang", "Sophie Lambert", "Zhang Min", "Romain Jadot", "UCLouvain"):
        assert name in page
    # The mobility plan and what it costs each side (BE pays the travel, CN the stay).
    assert "30" in page and "€1,100.00" in page and "CN¥18,000.00" in page
    # Both budgets.
    assert "CN¥123,456.00" in page and "€7,654.00" in page
    # Every document, through the reviewer's own route.
    for document in documents:
        assert document.original_name in page
        assert f"/reviews/assignments/{mine.id}/documents/{document.id}" in page
    assert "/proposals/" not in page.split("<main", 1)[1]  # no link the reviewer cannot follow


def test_a_reviewer_downloads_each_document_of_the_proposal(client):
    """Done when: a reviewer with an accepted, conflict-free assignment downloads each
    document of the proposal."""
    _call, cn, _be, p, documents = full_proposal()
    reviewer = f.reviewer(cn)
    mine = f.assignment(p, reviewer)
    f.login(client, reviewer)
    for document in documents:
        response = client.get(f"/reviews/assignments/{mine.id}/documents/{document.id}")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data == document_path(document).read_bytes()
        assert document.original_name in response.headers["Content-Disposition"]
        response.close()
    # The proposals' own route stays closed to reviewers.
    assert client.get(f"/proposals/{p.id}/documents/file/{documents[0].id}").status_code == 404


@pytest.mark.parametrize("state, declared", [
    (AssignmentState.invited, False),  # not accepted yet
    (AssignmentState.accepted, False),  # accepted, no declaration yet
    (AssignmentState.conflict, False),  # declared a conflict
    (AssignmentState.declined, False),
    (AssignmentState.replaced, True),
])
def test_no_download_without_an_accepted_conflict_free_assignment(client, state, declared):
    _call, cn, _be, p, documents = full_proposal()
    reviewer = f.reviewer(cn)
    mine = f.assignment(p, reviewer, state=state, no_conflict=declared)
    f.login(client, reviewer)
    for document in documents:
        assert client.get(f"/reviews/assignments/{mine.id}/documents/{document.id}").status_code == 404


def test_an_assignment_opens_only_the_documents_of_its_own_proposal(client):
    call, cn, be, p, _documents = full_proposal()
    other = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                       state=ProposalState.in_review, title="Another one")
    foreign_document = f.document(other, cn, "Scientific CV of the PI", other.sides[0].pi)
    reviewer, colleague = f.reviewer(cn), f.reviewer(cn)
    mine = f.assignment(p, reviewer)
    theirs = f.assignment(other, colleague)
    f.login(client, reviewer)
    assert client.get(f"/reviews/assignments/{mine.id}/documents/{foreign_document.id}").status_code == 404
    assert client.get(f"/reviews/assignments/{theirs.id}/documents/{foreign_document.id}").status_code == 404


def test_staff_download_through_the_proposal_not_through_an_assignment(client):
    _call, cn, _be, p, documents = full_proposal()
    mine = f.assignment(p, f.reviewer(cn))
    staff = f.user(Role.staff, agency=cn)
    f.login(client, staff)
    assert client.get(f"/reviews/assignments/{mine.id}/documents/{documents[0].id}").status_code == 404
    response = client.get(f"/proposals/{p.id}/documents/file/{documents[0].id}")
    assert response.status_code == 200
    response.close()


def test_each_criterion_shows_its_description_and_scale(client):
    call, cn, _be, p, _documents = full_proposal()
    reviewer = f.reviewer(cn)
    mine = f.assignment(p, reviewer)
    f.login(client, reviewer)
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    assert "Originality and soundness of the joint research plan." in page
    assert "from 0 to 5 in steps of 0.5" in page
    excellence = call.criteria[0]
    assert f'name="score_{excellence.id}"' in page and 'step="0.50"' in page


def test_the_invitation_shows_title_abstract_call_and_due_date(client):
    call, cn, _be, p, documents = full_proposal()
    reviewer = f.reviewer(cn, timezone="Europe/Brussels")
    invitation = f.assignment(p, reviewer, state=AssignmentState.invited, no_conflict=False)
    f.login(client, reviewer)
    page = client.get(f"/reviews/assignments/{invitation.id}").data.decode()
    assert "Cooler cities" in page and p.abstract in page
    assert call.reference in page and call.title in page
    from cfp.core.timezones import format_instant

    assert format_instant(invitation.due_at, "Europe/Brussels") in page
    # The team, to judge conflicts; not yet the plan, the budgets or the documents.
    assert "Wang Fang" in page and "Sophie Lambert" in page
    assert "123,456.00" not in page and "Romain Jadot" not in page
    assert documents[0].original_name not in page


def test_a_reviewer_never_sees_another_reviewers_identity_or_the_other_sides_review(client):
    call, cn, be, p, _documents = full_proposal()
    call.reviewers_see_side_reviews = True
    reviewer = f.reviewer(cn)
    colleague = f.reviewer(cn, name="Colleague Named Here")
    foreigner = f.reviewer(be, name="Foreigner Named Here")
    mine = f.assignment(p, reviewer)
    submitted_review(f.assignment(p, colleague), "4.0", "Colleague's comment.")
    submitted_review(f.assignment(p, foreigner), "2.0", "The other side's comment.")
    submitted_review(mine, "3.0", "My comment.")
    f.login(client, reviewer)
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    assert "Colleague's comment." in page.replace("&#39;", "'")
    assert "Colleague Named Here" not in page and "Foreigner Named Here" not in page
    assert "The other side&#39;s comment." not in page


# The declaration of interests is an explicit choice.

def test_the_declaration_has_no_preselected_answer(client):
    _call, cn, _be, p, _documents = full_proposal()
    reviewer = f.reviewer(cn)
    mine = f.assignment(p, reviewer, no_conflict=False)
    f.login(client, reviewer)
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    form = page[page.index(f"/reviews/assignments/{mine.id}/interests"):]
    form = form[:form.index("</form>")]
    # Two radio buttons, neither checked (a <select> would show its first answer chosen).
    assert "<select" not in form
    assert form.count('type="radio"') == 2 and 'value="no"' in form and 'value="yes"' in form
    assert "checked" not in form


def test_a_missing_choice_is_refused_and_what_was_typed_is_kept(client):
    _call, cn, _be, p, _documents = full_proposal()
    reviewer = f.reviewer(cn)
    mine = f.assignment(p, reviewer, no_conflict=False)
    f.login(client, reviewer)
    response = client.post(f"/reviews/assignments/{mine.id}/interests",
                           data={"reason": "I examined the thesis of Zhang Min."})
    assert response.status_code == 422
    page = response.data.decode()
    assert "Choose whether you have a conflict of interest" in page
    assert "I examined the thesis of Zhang Min." in page
    db.session.refresh(mine)
    assert mine.no_conflict_declared_at is None and mine.state == AssignmentState.accepted
    # An explicit answer goes through.
    response = client.post(f"/reviews/assignments/{mine.id}/interests",
                           data={"conflict": "yes", "reason": "I examined the thesis of Zhang Min."})
    assert response.status_code == 302
    db.session.refresh(mine)
    assert mine.state == AssignmentState.conflict
