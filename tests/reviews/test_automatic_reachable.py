"""Automatic assignment from the staff pages (issue 10): linked from *Reviews & ranking*,
the dashboard and a proposal's reviewers; a reviewer's finished reviews do not count
against their maximum (the demo failed with "… has 2 pinned proposals but a maximum of
0"); each reason a run fails says what to change, with the link to change it."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from cfp.auth.models import User
from cfp.calls.models import Call, CallState
from cfp.core.jobs import Job, JobStatus
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState, ReviewerProfile
from tests import factories as f
from tests.reviews.test_automatic_assignment import setup_call
from tests.reviews.test_mirror_review import submitted_review


def last_job() -> Job:
    return db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()


def profile_of(user) -> ReviewerProfile:
    return db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=user.id))


def test_finished_reviews_do_not_count_against_a_reviewers_maximum(client):
    call, be, staff, proposals, reviewers = setup_call()
    sun = reviewers[0]
    profile_of(sun).max_load = 2
    # Two reviews done in an earlier call, one done here: none of them is still owed.
    earlier = f.call(call.committee, state=CallState.decided, reference="CN-BE-2019")
    for title in ("Old one", "Old two"):
        old = f.proposal(earlier, f.user(Role.researcher, agency=call.agencies[0]), state=ProposalState.funded,
                         title=title)
        submitted_review(f.assignment(old, sun), "4.0", "Done long ago.")
    proposals[0].state = ProposalState.in_review
    submitted_review(f.assignment(proposals[0], sun), "4.5", "Done here.")
    db.session.flush()
    f.login(client, staff)
    client.post(f"/reviews/automatic/{call.id}/{be.id}")
    job = last_job()
    assert job.status == JobStatus.done, job.result
    assert {(p["proposal_id"], p["reviewer_id"]) for p in job.result["pairs"] if p["existing"]} == {
        (proposals[0].id, sun.id)}


def test_each_reason_says_what_to_change_with_the_link_to_change_it(client):
    call, be, staff, proposals, reviewers = setup_call()
    sun = reviewers[0]
    profile_of(sun).max_load = 0  # yet already assigned (accepted) to the first proposal
    f.assignment(proposals[0], sun, state=AssignmentState.accepted)
    proposals[1].state = ProposalState.in_review  # and done with the second: that one takes no room
    submitted_review(f.assignment(proposals[1], sun), "4.0", "Done.")
    db.session.flush()
    f.login(client, staff)
    client.post(f"/reviews/automatic/{call.id}/{be.id}")
    job = last_job()
    assert job.status == JobStatus.failed
    [problem] = [p for p in job.result["problems"] if p["kind"] == "reviewer_over_pinned"]
    assert problem["reviewer_id"] == sun.id and problem["pins"] == [
        {"proposal_id": proposals[0].id, "proposal": proposals[0].reference, "existing": True}]
    assert (problem["owed"], problem["room"]) == (1, 0)
    page = client.get(f"/reviews/automatic/jobs/{job.id}").data.decode()
    advice = page[page.index('id="advice"'):]
    assert "would owe 1 review here" in advice and "Raise their maximum load, or remove that pin." in advice
    assert f'href="/reviews/pool/{be.id}/reviewers/{sun.id}"' in advice
    assert f'href="/reviews/assign/{proposals[0].id}"' in advice
    assert f'href="/reviews/assign/{proposals[1].id}"' not in advice


def test_too_few_reviewers_point_to_the_pool_and_the_sides_settings(client):
    call, be, staff, _proposals, _reviewers = setup_call(reviewers_per_proposal=2, experts=[("Dr Only", "solar")])
    f.login(client, staff)
    client.post(f"/reviews/automatic/{call.id}/{be.id}")
    job = last_job()
    assert job.status == JobStatus.failed
    page = client.get(f"/reviews/automatic/jobs/{job.id}").data.decode()
    advice = page[page.index('id="advice"'):]
    assert "ask fewer reviewers per proposal" in advice
    assert f'href="/reviews/pool/{be.id}"' in advice
    assert f'href="/reviews/dashboard/{call.id}/{be.id}#side-settings"' in advice


def test_automatic_assignment_is_linked_from_the_staff_pages(client):
    call, be, staff, proposals, _reviewers = setup_call()
    call.state = CallState.in_selection  # the joint stage started while reviews still come in
    db.session.flush()
    f.login(client, staff)
    target = f'href="/reviews/automatic/{call.id}/{be.id}"'
    assert target in client.get("/reviews/staff").data.decode()
    assert target in client.get(f"/reviews/dashboard/{call.id}/{be.id}").data.decode()
    assert target in client.get(f"/reviews/assign/{proposals[0].id}").data.decode()


def test_on_the_demo_automatic_assignment_runs_for_each_side(client):
    from cfp.demo import DEMO_PASSWORD, seed_demo

    seed_demo()
    call = db.session.scalar(sa.select(Call).filter_by(reference="CN-BE-2022"))
    for email in ("staff.most@example.org", "staff.wbi@example.org"):
        staff = db.session.scalar(sa.select(User).filter_by(email=email))
        client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        [side] = [s for s in call.sides if staff.has_role(Role.staff, s.agency_id)]
        url = f"/reviews/automatic/{call.id}/{side.agency_id}"
        assert f'href="{url}"' in client.get("/reviews/staff").data.decode()
        assert client.post(url).status_code == 302
        job = last_job()
        assert job.status == JobStatus.done, (email, job.result)
        page = client.get(f"/reviews/automatic/jobs/{job.id}").data.decode()
        assert "there is nothing to add" in page or "Approve and send the invitations" in page
        client.post("/logout")
    assert call.state == CallState.in_selection and call.closes_at < utcnow() - timedelta(days=1)


def test_a_proposal_with_more_reviewers_than_asked_is_no_reason_to_fail(client):
    call, be, staff, proposals, reviewers = setup_call()
    for r in reviewers[:3]:  # invited by hand, beyond the one reviewer per proposal asked
        f.assignment(proposals[0], r, state=AssignmentState.invited, no_conflict=False)
    db.session.flush()
    f.login(client, staff)
    client.post(f"/reviews/automatic/{call.id}/{be.id}")
    job = last_job()
    assert job.status == JobStatus.done, job.result
    assert sorted(p["reviewer_id"] for p in job.result["pairs"] if p["proposal_id"] == proposals[0].id) == sorted(
        r.id for r in reviewers[:3])


def test_the_demo_replaces_a_decline_once(client):
    """The demo's late decline and conflict of CN-BE-2022 are replaced when they happen, as
    the worker does; the replacement task they queued then changes nothing."""
    from cfp.demo import seed_demo
    from cfp.reviews.models import Assignment
    from cfp.reviews.operations import replace_assignment

    seed_demo()
    ended = db.session.scalars(sa.select(Assignment).join(Assignment.proposal).where(
        Assignment.state.in_([AssignmentState.declined, AssignmentState.conflict]),
        Assignment.proposal.has(state=ProposalState.in_review))).all()
    assert len(ended) == 2 and all(a.replaced_by_id for a in ended)
    count = db.session.scalar(sa.select(sa.func.count(Assignment.id)))
    for a in ended:
        assert replace_assignment(None, a).id == a.replaced_by_id
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == count


def test_a_colleague_of_the_side_follows_a_runs_progress(app, client):
    """The progress bar of a run started by one staff member polls an address the side's
    other staff may read too (the general job address is its creator's)."""
    call, be, staff, _proposals, _reviewers = setup_call(reviewers_per_proposal=1)
    colleague = f.user(Role.staff, agency=be)
    job = Job(kind="reviews.assignment", status=JobStatus.running, progress=40, message="Scoring",
              params={"call_id": call.id, "agency_id": be.id}, created_by_id=staff.id)
    db.session.add(job)
    db.session.commit()
    f.login(client, colleague)
    page = client.get(f"/reviews/automatic/jobs/{job.id}").data.decode()
    progress = f"/reviews/automatic/jobs/{job.id}/progress"
    assert f'data-url="{progress}"' in page
    answer = client.get(progress, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json == {"status": "running", "progress": 40, "message": "Scoring"}
    assert client.get(f"/jobs/{job.id}", headers={"Accept": "application/json"}).status_code == 404
