"""The API's resources, each role's answer: the same permission code as the pages (a
reviewer never reads another's review, a side's staff never the other side's ranking),
the editor's optimistic locking (409 on a stale version), the review form's operation,
pages with links, filtering by state, and every error as application/problem+json."""
from __future__ import annotations

import pytest

from cfp.extensions import db
from cfp.reviews.models import AssignmentState, ReviewState
from tests import factories as f
from tests.api.world import build, token_for

PROBLEM = "application/problem+json"


@pytest.fixture
def world():
    return build()


def _problem(response, status):
    assert response.status_code == status, response.data[:500]
    assert response.headers["Content-Type"] == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


# ---------------------------------------------------------------------------- calls


def test_calls_are_public_and_filtered_by_state(client, world):
    f.call(world.committee, reference="DRAFT-2032", state=f.CallState.draft)
    body = client.get("/api/v1/calls").get_json()
    assert [c["reference"] for c in body["items"]] == ["CN-BE-2031"]  # a draft is not announced
    assert body["items"][0]["sides"][0]["currency"] == "CNY"
    assert body["links"]["self"].startswith("/api/v1/calls")
    assert client.get("/api/v1/calls?state=closed").get_json()["items"] == []
    # The committee's staff see its draft too, as on the calls page.
    staff = client.get("/api/v1/calls?state=draft", headers=world.auth("staff_cn")).get_json()
    assert [c["reference"] for c in staff["items"]] == ["DRAFT-2032"]
    draft_id = staff["items"][0]["id"]
    _problem(client.get(f"/api/v1/calls/{draft_id}"), 404)


def test_pages_have_links(client, world):
    for n in range(3):
        f.call(world.committee, reference=f"EXTRA-{n}")
    body = client.get("/api/v1/calls?per_page=2").get_json()
    assert (body["page"], body["per_page"], body["pages"], body["total"]) == (1, 2, 2, 4)
    assert body["links"]["prev"] is None and "page=2" in body["links"]["next"]
    assert "per_page=2" in body["links"]["next"]
    second = client.get(body["links"]["next"]).get_json()
    assert len(second["items"]) == 2 and second["links"]["next"] is None
    _problem(client.get("/api/v1/calls?page=9"), 404)


def test_errors_are_problems(client, world):
    _problem(client.get("/api/v1/no-such-thing"), 404)
    _problem(client.delete("/api/v1/calls"), 405)
    body = _problem(client.get("/api/v1/calls?state=nonsense"), 422)
    assert "state" in body["errors"]["query"]
    body = _problem(client.get("/api/v1/calls?page=0"), 422)
    _problem(client.get("/api/v1/proposals"), 401)
    # A page of the site keeps its HTML answer.
    assert client.get("/no-such-page").headers["Content-Type"].startswith("text/html")


# ---------------------------------------------------------------------------- proposals


def test_the_applicants_proposals_and_nobody_elses(client, world):
    body = client.get("/api/v1/proposals", headers=world.auth("pi")).get_json()
    assert {p["title"] for p in body["items"]} == {"Draft on perovskites", "Catalysis in review", "Funded sensors"}
    drafts = client.get("/api/v1/proposals?state=draft", headers=world.auth("pi")).get_json()
    assert [p["id"] for p in drafts["items"]] == [world.draft.id]
    assert client.get("/api/v1/proposals", headers=world.auth("reviewer_cn")).get_json()["items"] == []
    # A draft is its applicants' alone (Proposal.can_view): staff get 404, as on the page.
    _problem(client.get(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("staff_cn")), 404)
    assert client.get(f"/api/v1/proposals/{world.in_review.id}", headers=world.auth("staff_cn")).status_code == 200


def test_a_draft_is_changed_with_the_editors_version_check(client, world):
    version = world.draft.version
    changed = client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("pi"),
                           json={"version": version, "title": "Perovskites, revised", "duration_months": 36})
    assert changed.status_code == 200
    assert changed.get_json()["version"] == version + 1
    assert changed.get_json()["duration_months"] == 36
    # The partner still holds the old version: refused, nothing overwritten.
    stale = client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("partner"),
                         json={"version": version, "title": "Partner's title"})
    body = _problem(stale, 409)
    assert body["current_version"] == version + 1
    assert body["type"].endswith("#problem-stale-version")
    db.session.refresh(world.draft)
    assert world.draft.title == "Perovskites, revised"
    # With the current version, the partner's change goes in.
    ok = client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("partner"),
                      json={"version": version + 1, "title": "Partner's title"})
    assert ok.status_code == 200 and ok.get_json()["version"] == version + 2


def test_only_a_draft_is_changed_and_only_by_its_applicants(client, world):
    _problem(client.patch(f"/api/v1/proposals/{world.in_review.id}", headers=world.auth("pi"),
                          json={"version": world.in_review.version, "title": "Late"}), 403)
    _problem(client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("staff_cn"),
                          json={"version": world.draft.version, "title": "Staff"}), 404)
    _problem(client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("pi"),
                          json={"title": "No version"}), 422)
    # A rule of the domain (a priority area of another call) answers 422 with its reason.
    body = _problem(client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("pi"),
                                 json={"version": world.draft.version, "priority_area_id": 999999}), 422)
    assert "priority" in body["detail"]


# ---------------------------------------------------------------------------- reviews


def test_a_reviewer_reads_their_own_assignment_and_never_anothers(client, world):
    mine, theirs = world.assignments["cn"], world.assignments["be"]
    body = client.get("/api/v1/assignments", headers=world.auth("reviewer_cn")).get_json()
    assert [a["id"] for a in body["items"]] == [mine.id]
    assert client.get(f"/api/v1/assignments/{mine.id}", headers=world.auth("reviewer_cn")).status_code == 200
    _problem(client.get(f"/api/v1/assignments/{theirs.id}", headers=world.auth("reviewer_cn")), 404)
    # Staff of the assignment's side see it (not the review form's content); the other side's do not.
    staff = client.get(f"/api/v1/assignments/{mine.id}", headers=world.auth("staff_cn"))
    assert staff.status_code == 200 and staff.get_json()["review"] is None
    _problem(client.get(f"/api/v1/assignments/{mine.id}", headers=world.auth("staff_be")), 404)


def test_a_review_is_saved_and_submitted_through_the_review_forms_operation(client, world):
    mine = world.assignments["cn"]
    criteria = {c.name: str(c.id) for c in world.call.criteria}
    url = f"/api/v1/assignments/{mine.id}/review"
    draft = client.put(url, headers=world.auth("reviewer_cn"), json={"scores": {criteria["Excellence"]: 4}})
    assert draft.status_code == 200
    assert draft.get_json()["review"]["state"] == "draft"
    refused = client.put(url, headers=world.auth("reviewer_cn"),
                         json={"scores": {criteria["Excellence"]: 4}, "submit": True})
    assert "Impact" in _problem(refused, 422)["detail"]  # every criterion scored to submit
    _problem(client.put(url, headers=world.auth("reviewer_cn"), json={"scores": {"999999": 1}}), 422)
    _problem(client.put(url, headers=world.auth("reviewer_cn"),
                        json={"scores": {criteria["Excellence"]: 4.5, criteria["Impact"]: 9}, "submit": True}), 422)
    done = client.put(url, headers=world.auth("reviewer_cn"), json={
        "scores": {criteria["Excellence"]: 4.5, criteria["Impact"]: 3}, "submit": True,
        "comments_to_applicants": "Solid.", "recommendation": "fund"})
    assert done.status_code == 200, done.data
    review = done.get_json()["review"]
    assert review["state"] == "submitted" and review["weighted_score"] == "4.000"
    db.session.refresh(mine)
    assert mine.state == AssignmentState.submitted and mine.review.state == ReviewState.submitted
    listed = client.get("/api/v1/reviews?state=submitted", headers=world.auth("reviewer_cn")).get_json()
    assert [r["id"] for r in listed["items"]] == [mine.review.id]
    # Nobody else writes this review: the other reviewer gets 404, its side's staff 403.
    _problem(client.put(url, headers=world.auth("reviewer_be"), json={"scores": {}}), 404)
    _problem(client.put(url, headers=world.auth("staff_cn"), json={"scores": {}}), 403)


def test_a_reviewer_who_has_not_declared_their_interests_cannot_review(client, world):
    other = f.reviewer(world.cn)
    a = f.assignment(world.draft, other, no_conflict=False)
    token = token_for(other)
    _problem(client.put(f"/api/v1/assignments/{a.id}/review", headers={"Authorization": f"Bearer {token}"},
                        json={"scores": {}}), 403)


# ---------------------------------------------------------------------------- rankings


def test_a_sides_staff_read_their_sides_ranking_and_not_the_others(client, world):
    cn_url = f"/api/v1/calls/{world.call.id}/rankings/{world.cn.id}"
    be_url = f"/api/v1/calls/{world.call.id}/rankings/{world.be.id}"
    body = client.get(cn_url, headers=world.auth("staff_cn")).get_json()
    assert [(e["reference"], e["mean_score"]) for e in body["items"]] == [(world.in_review.reference, "4.000")]
    _problem(client.get(be_url, headers=world.auth("staff_cn")), 403)
    assert client.get(be_url, headers=world.auth("staff_be")).status_code == 200
    # The secretariat reads both (the joint stage); a reviewer or an applicant nothing of the committee's.
    assert client.get(be_url, headers=world.auth("secretariat")).status_code == 200
    _problem(client.get(cn_url, headers=world.auth("reviewer_cn")), 404)
    _problem(client.get(cn_url, headers=world.auth("pi")), 404)
    _problem(client.get(cn_url), 401)


def test_the_joint_ranking_is_the_secretariats(client, world):
    url = f"/api/v1/calls/{world.call.id}/joint-ranking"
    body = client.get(url, headers=world.auth("secretariat")).get_json()
    assert body["total"] == 1
    row = body["items"][0]
    assert row["position"] == 1 and row["passes_both"] and {s["agency_id"] for s in row["sides"]} == {
        world.cn.id, world.be.id}
    _problem(client.get(url, headers=world.auth("staff_cn")), 403)


def test_another_committees_staff_see_nothing_of_this_one(client, world):
    from cfp.calls.models import Agency, Agreement, JointCommittee
    from cfp.core.roles import Role

    it = Agency(code="IT", short_name="MUR", name="Ministry of University and Research", country="Italy",
                currency="EUR", timezone="Europe/Rome", locale="en")
    other = JointCommittee(agreement=Agreement(title="CN-IT", agency_a=world.cn, agency_b=it), name="CN-IT")
    db.session.add(other)
    db.session.flush()
    staff = f.user(agency=world.cn)
    staff.grant(Role.staff, world.cn, other)
    headers = {"Authorization": f"Bearer {token_for(staff)}"}
    _problem(client.get(f"/api/v1/calls/{world.call.id}/rankings/{world.cn.id}", headers=headers), 404)
    _problem(client.get(f"/api/v1/proposals/{world.in_review.id}", headers=headers), 404)


# ---------------------------------------------------------------------------- projects, outbox


def test_adopted_projects_are_public_with_more_for_those_who_may_see_them(client, world):
    public = client.get("/api/v1/projects").get_json()["items"]
    assert [p["code"] for p in public] == ["S5-CN-BE-2031-01"]
    assert "allocations" not in public[0] and public[0]["decision"] == "5.1" and public[0]["meeting"] == 5
    staff = client.get(f"/api/v1/projects/{world.project.id}", headers=world.auth("staff_cn")).get_json()
    assert staff["allocations"] == [{"agency_id": world.cn.id, "year": 1, "amount": "100000.00",
                                     "currency": "CNY"}]
    assert "allocations" not in client.get(f"/api/v1/projects/{world.project.id}",
                                           headers=world.auth("reviewer_be")).get_json()
    assert client.get("/api/v1/projects?status=completed").get_json()["items"] == []


def test_the_outbox_state_is_for_admins(client, world):
    f.outbox_message(world.people["pi"], status=f.MessageStatus.queued)
    body = client.get("/api/v1/admin/outbox", headers=world.auth("admin")).get_json()
    assert body["emails"]["counts"]["queued"] >= 1 and body["emails"]["oldest_queued_at"]
    assert set(body["tasks"]) == {"counts", "oldest_queued_at"}
    _problem(client.get("/api/v1/admin/outbox", headers=world.auth("secretariat")), 403)
    _problem(client.get("/api/v1/admin/outbox"), 401)
