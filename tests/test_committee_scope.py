"""Issue 13: one installation, many Joint Committees, nothing leaking across them.

MOST sits on two committees: with WBI (committee A) and with MUR of Italy (committee B).
The staff of MOST, the secretariat and the co-chair of committee A hold their roles for
A only. Every page of committee B's work answers them 404, and no list they work from
shows it; committee A's own work is there (so the lists are not merely empty)."""
from __future__ import annotations

import pytest

from cfp.calls.models import Agency, Agreement, CallState, JointCommittee
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from tests import factories as f


def _committee_b(cn: Agency) -> JointCommittee:
    it = Agency(code="IT", short_name="MUR", name="Ministry of University and Research",
                country="Italy", currency="EUR", timezone="Europe/Rome", locale="en")
    agreement = Agreement(title="Agreement between China and Italy", agency_a=cn, agency_b=it)
    committee = JointCommittee(agreement=agreement, name="China–Italy Joint Committee")
    db.session.add(committee)
    db.session.flush()
    return committee


def _work(committee, tag: str) -> dict:
    """A committee's work: calls, proposals at each stage, reviews, a ranking, a meeting, a
    decision, a project list and a project; titles carry `tag`."""
    a, b = committee.agencies
    pi, partner = f.user(Role.researcher, agency=a), f.user(Role.researcher, agency=b)
    call = f.call(committee, reference=f"CALL-{tag}")
    draft_call = f.call(committee, state=CallState.draft, reference=f"DRAFT-{tag}")
    submitted = f.proposal(call, pi, partner, state=ProposalState.submitted, title=f"Submitted {tag}")
    in_review = f.proposal(call, pi, partner, state=ProposalState.in_review, title=f"Reviewed {tag}")
    funded = f.proposal(call, pi, partner, state=ProposalState.funded, title=f"Funded {tag}")
    f.assignment(in_review, f.reviewer(a))
    f.ranking_entry(call, a, in_review, "4.0")
    meeting = f.meeting(committee)
    decision = f.decision(meeting)
    plist = f.project_list(call, [funded])
    project = f.project(plist, decision, funded)
    return {"call": call.id, "draft_call": draft_call.id, "submitted": submitted.id,
            "in_review": in_review.id, "meeting": meeting.id, "decision": decision.id,
            "plist": plist.id, "project": project.id, "agency": a.id}


@pytest.fixture
def two_committees():
    cn, _be, committee_a = f.world()
    committee_b = _committee_b(cn)
    people = {
        "staff": f.user(agency=cn, name="Staff of MOST for A"),
        "secretariat": f.user(name="Secretary of A"),
        "cochair": f.user(agency=cn, name="Co-chair of A"),
    }
    people["staff"].grant(Role.staff, cn, committee_a)
    people["secretariat"].grant(Role.secretariat, committee=committee_a)
    people["cochair"].grant(Role.cochair, cn, committee_a)
    work = {"A": _work(committee_a, "A"), "B": _work(committee_b, "B")}
    db.session.commit()
    return people, work


PAGES_OF_B = [
    "/calls/{draft_call}",
    "/proposals/{submitted}",
    "/proposals/{in_review}",
    "/reviews/assign/{in_review}",
    "/reviews/ranking/{call}",
    "/reviews/dashboard/{call}/{agency}",
    "/reviews/automatic/{call}/{agency}",
    "/selection/joint/{call}",
    "/selection/calls/{call}/envelopes",
    "/selection/calls/{call}/scenarios",
    "/selection/lists/{plist}",
    "/meetings/{meeting}",
    "/meetings/decisions/{decision}",
    "/meetings/decisions/{decision}/letters",
    "/projects/{project}",
]


NOWHERE = dict.fromkeys(["call", "draft_call", "submitted", "in_review", "meeting", "decision", "plist",
                         "project"], 987654) | {"agency": 987654}


@pytest.mark.parametrize("who", ["staff", "secretariat", "cochair"])
def test_every_page_of_another_committee_answers_as_if_it_did_not_exist(client, two_committees, who):
    """404 for the object, or the 403 that the page gives to the role whatever the id (a
    page of another role): the answer is the same as for an id that exists nowhere."""
    people, work = two_committees
    f.login(client, people[who])
    answers = {url: (client.get(url.format(**work["B"])).status_code,
                     client.get(url.format(**NOWHERE)).status_code) for url in PAGES_OF_B}
    leaks = {url: pair for url, pair in answers.items() if pair[0] != pair[1] or pair[0] not in (403, 404)}
    assert leaks == {}
    # The same pages of its own committee open for the role that works there.
    assert client.get("/meetings/{meeting}".format(**work["A"])).status_code == 200


LISTS = {
    "staff": ["/calls/", "/proposals/staff", "/reviews/staff", "/projects/dashboard", "/meetings"],
    "secretariat": ["/calls/", "/selection/joint", "/projects/dashboard", "/meetings", "/mail"],
    "cochair": ["/selection/joint", "/projects/dashboard", "/meetings"],
}


@pytest.mark.parametrize("who", ["staff", "secretariat", "cochair"])
def test_no_list_shows_another_committees_work(client, two_committees, who):
    people, _work = two_committees
    f.login(client, people[who])
    shown = {url: client.get(url).get_data(as_text=True) for url in LISTS[who]}
    for url, page in shown.items():
        for secret in ("DRAFT-B", "Submitted B", "Reviewed B", "Funded B", "China–Italy"):
            assert secret not in page, f"{who} sees {secret!r} on {url}"
    # Their own committee's work is listed (the pages are not merely empty).
    assert any("CALL-A" in page or "Submitted A" in page or "Funded A" in page for page in shown.values())


def test_the_same_agencys_staff_of_committee_b_sees_b_and_not_a(client, two_committees):
    _people, work = two_committees
    cn = db.session.get(Agency, work["A"]["agency"])
    committee_b = db.session.scalar(db.select(JointCommittee).filter_by(name="China–Italy Joint Committee"))
    staff_b = f.user(agency=cn, name="Staff of MOST for B")
    staff_b.grant(Role.staff, cn, committee_b)
    db.session.commit()
    f.login(client, staff_b)
    assert client.get(f"/proposals/{work['B']['submitted']}").status_code == 200
    assert client.get(f"/proposals/{work['A']['submitted']}").status_code == 404
    page = client.get("/proposals/staff").get_data(as_text=True)
    assert "Submitted B" in page and "Submitted A" not in page


def test_a_decision_offers_and_takes_only_its_own_committees_proposed_lists(client, two_committees):
    """Found on the committee's browser journey: a decision's *Table a project list* offered
    the proposed lists of every committee, and took any of them."""
    from cfp.selection.models import ProjectList, ProjectListState

    people, work = two_committees
    for side in ("A", "B"):
        db.session.get(ProjectList, work[side]["plist"]).state = ProjectListState.proposed
    db.session.commit()
    f.login(client, people["secretariat"])
    page = client.get("/meetings/decisions/{decision}".format(**work["A"])).get_data(as_text=True)
    assert "CALL-A v" in page and "CALL-B v" not in page
    response = client.post("/meetings/decisions/{decision}/attach".format(**work["A"]),
                           data={"project_list_id": work["B"]["plist"]})
    assert response.status_code in (302, 400, 404)
    assert db.session.get(ProjectList, work["B"]["plist"]).decision_id is None
