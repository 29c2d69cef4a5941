"""Automatic assignment through the web: start the job (Celery runs eagerly in tests),
see the preview with affinities, adjust it, approve it; infeasibility is explained."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.jobs import Job, JobStatus
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.timezones import to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalMember, ProposalState
from cfp.reviews.models import Assignment, AssignmentMethod, AssignmentState, ReviewerProfile
from tests import factories as f

TOPICS = [
    ("Perovskite solar cells", "perovskite photovoltaic efficiency stability", "perovskite, solar"),
    ("Urban heat islands", "urban climate heat waves adaptation of cities", "urban climate, heat"),
    ("Protein folding with deep learning", "protein structure prediction neural networks", "protein, deep learning"),
]
EXPERTS = [
    ("Dr Sun", "solar cells; perovskite; photovoltaic"),
    ("Dr Heat", "urban climate; heat waves; cities"),
    ("Dr Fold", "protein structure; deep learning"),
    ("Dr Wide", "solar; climate; protein"),
]


def setup_call(reviewers_per_proposal=1, experts=EXPERTS):
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.closed, reviewers_per_proposal=reviewers_per_proposal,
                  closes_at=utcnow() - timedelta(days=1), opens_at=utcnow() - timedelta(days=30))
    staff = f.user(Role.staff, agency=be)
    proposals = []
    for title, abstract, keywords in TOPICS:
        p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                       state=ProposalState.eligible, title=title)
        p.abstract, p.keywords = abstract, keywords
        proposals.append(p)
    reviewers = []
    for name, keywords in experts:
        r = f.reviewer(be, name=name)
        db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=r.id)).keywords = keywords
        reviewers.append(r)
    db.session.flush()
    return call, be, staff, proposals, reviewers


def test_staff_compute_preview_adjust_and_approve(client):
    call, be, staff, proposals, reviewers = setup_call()
    f.login(client, staff)
    page = client.get(f"/reviews/automatic/{call.id}/{be.id}")
    assert page.status_code == 200
    response = client.post(f"/reviews/automatic/{call.id}/{be.id}")
    assert response.status_code == 302
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert job.status == JobStatus.done and job.progress == 100
    pairs = {(p["proposal_id"], p["reviewer_id"]): p["affinity"] for p in job.result["pairs"]}
    # Each proposal goes to the expert of its topic.
    assert set(pairs) == {(proposals[0].id, reviewers[0].id), (proposals[1].id, reviewers[1].id),
                          (proposals[2].id, reviewers[2].id)}
    assert job.result["certified_optimal"] is True
    assert all(a > 0 for a in pairs.values())
    # How long each phase took, kept with the result.
    assert {"candidates", "flow", "certificate"} <= set(job.result["seconds"])

    preview = client.get(response.headers["Location"])
    assert preview.status_code == 200
    assert b"Dr Sun" in preview.data and b"proved optimal" in preview.data
    # The JSON the progress bar polls.
    polled = client.get(f"/jobs/{job.id}", headers={"Accept": "application/json"})
    assert polled.json["status"] == "done" and polled.json["progress"] == 100

    # Adjust: replace Dr Fold by Dr Wide on the protein proposal.
    url = f"/reviews/automatic/jobs/{job.id}/pairs"
    client.post(url, data={"action": "remove", "proposal_id": proposals[2].id, "reviewer_id": reviewers[2].id})
    client.post(url, data={"action": "add", "proposal_id": proposals[2].id, "reviewer_id": reviewers[3].id})
    client.post(url, data={"action": "pin", "proposal_id": proposals[0].id, "reviewer_id": reviewers[0].id})
    db.session.refresh(job)
    chosen = {(p["proposal_id"], p["reviewer_id"]) for p in job.result["pairs"]}
    assert (proposals[2].id, reviewers[3].id) in chosen and (proposals[2].id, reviewers[2].id) not in chosen
    assert job.result["adjusted"] is True

    due = to_zone(utcnow() + timedelta(days=20), staff.effective_timezone)
    response = client.post(f"/reviews/automatic/jobs/{job.id}/approve",
                           data={"due_at": due.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    assignments = db.session.scalars(sa.select(Assignment).where(Assignment.agency_id == be.id)).all()
    assert {(a.proposal_id, a.reviewer_id) for a in assignments} == chosen
    assert all(a.method == AssignmentMethod.automatic and a.state == AssignmentState.invited for a in assignments)
    invited = db.session.scalars(sa.select(OutboxMessage.recipient_user_id)
                                 .where(OutboxMessage.template == "review_invitation")).all()
    assert sorted(invited) == sorted(r for _, r in chosen)
    # Approving twice does nothing more.
    client.post(f"/reviews/automatic/jobs/{job.id}/approve", data={"due_at": due.strftime("%Y-%m-%dT%H:%M")})
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 3

    # A second run keeps the current assignments and adds no second reviewer.
    client.post(f"/reviews/automatic/{call.id}/{be.id}")
    again = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert all(p["existing"] for p in again.result["pairs"]) and len(again.result["pairs"]) == 3


def test_conflicts_are_never_proposed(client):
    call, be, staff, proposals, reviewers = setup_call()
    # Dr Sun is a member of the solar proposal; Dr Heat declared a collaboration with its PI.
    db.session.add(ProposalMember(proposal=proposals[0], agency_id=be.id, name="Dr Sun",
                                  email=reviewers[0].email))
    solar_pi = proposals[0].sides[1].pi
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewers[1].id))
    profile.conflicts = f"Someone Else\n{solar_pi.name}\n"
    db.session.flush()
    f.login(client, staff)
    client.post(f"/reviews/automatic/{call.id}/{be.id}")
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    pairs = {(p["proposal_id"], p["reviewer_id"]) for p in job.result["pairs"]}
    assert (proposals[0].id, reviewers[0].id) not in pairs
    assert (proposals[0].id, reviewers[1].id) not in pairs
    # The manual route refuses the same pair with the reason.
    response = client.post(f"/reviews/automatic/jobs/{job.id}/pairs",
                           data={"action": "add", "proposal_id": proposals[0].id, "reviewer_id": reviewers[1].id},
                           follow_redirects=True)
    assert b"declared a collaboration with" in response.data


def test_staff_are_told_which_constraint_fails(client):
    call, be, staff, _proposals, _reviewers = setup_call(reviewers_per_proposal=2, experts=EXPERTS[:1])
    f.login(client, staff)
    client.post(f"/reviews/automatic/{call.id}/{be.id}")
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert job.status == JobStatus.failed
    reasons = " ".join(job.result["reasons"])
    assert "total reviewer capacity 8 is less than the 6 reviews needed" not in reasons
    assert "has only 1 available reviewers" in reasons
    page = client.get(f"/reviews/automatic/jobs/{job.id}")
    assert b"needs 2 reviewers and only 1 of your pool can take it" in page.data


def test_other_side_staff_and_reviewers_are_kept_out(app, client):
    call, be, staff, _proposals, reviewers = setup_call()
    cn = call.sides[0].agency
    other = f.user(Role.staff, agency=cn)
    f.login(client, other)
    assert client.get(f"/reviews/automatic/{call.id}/{be.id}").status_code == 403
    assert client.post(f"/reviews/automatic/{call.id}/{be.id}").status_code == 403
    mine = app.test_client()
    f.login(mine, staff)
    mine.post(f"/reviews/automatic/{call.id}/{be.id}")
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert client.get(f"/reviews/automatic/jobs/{job.id}").status_code == 403
    assert client.post(f"/reviews/automatic/jobs/{job.id}/approve").status_code == 403
    reviewer = app.test_client()
    f.login(reviewer, reviewers[0])
    assert reviewer.get(f"/reviews/automatic/jobs/{job.id}").status_code == 403


def test_a_cancelled_job_stops_between_phases(client):
    call, be, staff, _proposals, _reviewers = setup_call()
    from cfp.reviews.automatic import run_assignment_job, start_assignment_job

    job = start_assignment_job(staff, call, be.id)
    job.cancel_requested = True
    db.session.flush()
    assert run_assignment_job(job.id) is None
    db.session.refresh(job)
    assert job.status == JobStatus.cancelled and job.result is None


def test_progress_is_written_through_the_phases_and_a_cancel_stops_inside_one(client):
    """What the solver reports becomes the job's progress and message; once staff cancel,
    the next report (at most a second later, inside any phase) stops the run."""
    import pytest

    from cfp.reviews.automatic import JOB_KIND, JobCancelled, JobProgress

    call, be, staff, _proposals, _reviewers = setup_call()
    job = Job(kind=JOB_KIND, status=JobStatus.running, created_by_id=staff.id,
              params={"call_id": call.id, "agency_id": be.id, "pins": []})
    db.session.add(job)
    db.session.flush()
    progress = JobProgress(job.id, every=0)
    seen = []
    for report in [("candidates", 0, 0.0), ("candidates", 0, 0.5), ("candidates", 0, 1.0), ("flow", 1, None),
                   ("certificate", 1, 0.5), ("repair", 1, 0.5), ("flow", 2, None), ("certificate", 2, 1.0)]:
        progress(*report)
        db.session.refresh(job)
        seen.append((job.progress, job.message))
    percents = [p for p, _m in seen]
    assert percents == sorted(percents) and percents[0] == 10 and percents[2] == 60 and percents[-1] < 100
    assert "50% of the proposals" in seen[1][1] and "Solving (round 2)" in seen[6][1]
    assert "optimal over every pair (round 1)" in seen[4][1]
    job.cancel_requested = True
    db.session.flush()
    with pytest.raises(JobCancelled):
        progress("flow", 3, None)


def test_indexed_conflict_detection_agrees_with_the_pairwise_rule():
    """conflict_pairs (used for whole calls) finds exactly the pairs detected_conflict refuses."""
    from cfp.reviews.automatic import conflict_pairs
    from cfp.reviews.operations import detected_conflict

    _call, be, _staff, proposals, reviewers = setup_call()
    profiles = [db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=r.id)) for r in reviewers]
    reviewers[0].email = "sun@uclouvain.be"  # the email domain of a member of proposal 0
    reviewers[1].affiliation = "UCLouvain"  # the BE side's institution in the factories
    profiles[2].conflicts = proposals[2].sides[0].pi.name
    db.session.add(ProposalMember(proposal=proposals[0], agency_id=be.id, name="Member", email="m@uclouvain.be"))
    db.session.add(ProposalMember(proposal=proposals[1], agency_id=be.id, name="Dr Wide Colleague",
                                  email=reviewers[3].email))
    db.session.flush()
    for p in proposals:
        db.session.refresh(p)
    expected = {(i, j) for i, p in enumerate(proposals) for j, pr in enumerate(profiles)
                if detected_conflict(p, pr.user, pr)}
    assert expected == conflict_pairs(proposals, profiles)
    assert {(0, 0), (2, 2), (1, 3)} <= expected and {(0, 1), (1, 1), (2, 1)} <= expected


def test_staff_randomise_the_assignment_with_a_cap_from_the_page(client):
    """The cap is kept for this side of the call, the draw records its seed, and the page
    shows the expected total affinity against the single best assignment."""
    from cfp.core.audit import AuditEntry

    call, be, staff, proposals, _reviewers = setup_call()
    f.login(client, staff)
    refused = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"random_cap": "150"})
    assert refused.status_code == 422 and b'value="150"' in refused.data
    assert call.side(be.id).assignment_random_cap is None
    response = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"random_cap": "50"})
    assert response.status_code == 302
    assert call.side(be.id).assignment_random_cap == 50
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="call_side.assignment_fairness"))
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert job.status == JobStatus.done
    random = job.result["random"]
    assert random["cap_percent"] == 50 and random["seed"] == job.params["seed"] and random["certified"]
    # Each proposal is served by two reviewers half the time each: the expectation is below the optimum.
    assert random["expected_total"] < random["optimum"]
    assert sorted(p["proposal_id"] for p in job.result["pairs"]) == sorted(p.id for p in proposals)
    assert job.result["certified_optimal"] is False
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "at most 50% likely" in page and f"seed {random['seed']}" in page
    # The form shows the side's setting; an empty field turns it off again.
    assert 'value="50"' in client.get(f"/reviews/automatic/{call.id}/{be.id}").get_data(as_text=True)
    client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"random_cap": ""})
    assert call.side(be.id).assignment_random_cap is None


def _side_facts(call, be):
    """The side's instance as the job builds it, and its scaled affinities, for brute force."""
    from cfp.reviews.assignment import scaled
    from cfp.reviews.automatic import side_problem

    instance, proposals, profiles, _reasons = side_problem(call, be.id)
    a = scaled(instance.affinity.rows(np.arange(instance.n)))
    conflicts = {tuple(p) for p in np.argwhere(instance.conflict_matrix.toarray()).tolist()}
    return instance, a, conflicts, [p.id for p in proposals], [pr.user_id for pr in profiles]


def test_staff_ask_a_floor_for_every_proposal_from_the_page(client):
    """The option is kept for this side, recorded in the run's params; the floor reached is
    the highest any valid assignment reaches (brute force over every assignment), the total
    the best at that floor, and the page shows both with the cost against the optimum."""
    from cfp.core.audit import AuditEntry
    from tests.reviews.test_assignment_fairness import brute_force_fair

    # One proposal each. The best total gives the urban proposal a reviewer with nothing in
    # common with it (affinity 0); the floor gives every proposal someone close to it.
    call, be, staff, _proposals, reviewers = setup_call(experts=[
        ("Dr Perovskite", "perovskite; structure"), ("Dr Broad", "urban; protein; structure"),
        ("Dr Stable", "stability")])
    for r in reviewers:
        db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=r.id)).max_load = 1
    db.session.flush()
    f.login(client, staff)
    page = client.get(f"/reviews/automatic/{call.id}/{be.id}").get_data(as_text=True)
    assert "A floor for every proposal" in page and 'name="floor"' in page
    # Not with the randomised assignment.
    refused = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"random_cap": "50", "floor": "y"})
    assert refused.status_code == 422 and "not both" in refused.get_data(as_text=True)
    assert call.side(be.id).assignment_floor is False
    response = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"floor": "y"})
    assert response.status_code == 302
    assert call.side(be.id).assignment_floor is True
    entry = db.session.scalars(sa.select(AuditEntry).filter_by(action="call_side.assignment_fairness")).one()
    assert entry.after["floor"] is True
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert job.status == JobStatus.done and job.params["floor"] is True and "diversity" not in job.params
    floor = job.result["floor"]
    instance, a, conflicts, _proposal_ids, _reviewer_ids = _side_facts(call, be)
    best, expected_floor, at_floor = brute_force_fair(a, instance.need, instance.max_load, conflicts, set(),
                                                       np.full(instance.m, -1))
    assert round(floor["floor"] * 1_000_000) == expected_floor
    assert round(job.result["total_affinity"] * 1_000_000) == at_floor
    assert round(floor["optimum"] * 1_000_000) == best
    assert floor["proved"] and floor["floor"] > floor["plain_weakest"] == 0 and floor["cost"] > 0.1
    assert floor["cost"] == pytest.approx((best - at_floor) / 1_000_000, abs=1e-6)
    assert min(p["affinity"] for p in job.result["pairs"]) == pytest.approx(floor["floor"], abs=1e-6)
    assert "floor_proof" in job.result["seconds"]
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A floor for every proposal: each reviewer chosen has an affinity of at least " \
           f"{floor['floor']:.4f}" in shown
    assert f"the floor costs {floor['cost']}" in shown and "floor proved the highest" in shown
    # The form shows the side's setting; unticked, it is off again.
    form = client.get(f"/reviews/automatic/{call.id}/{be.id}").get_data(as_text=True)
    assert '<input checked class="form-check-input" id="floor" name="floor"' in form
    client.post(f"/reviews/automatic/{call.id}/{be.id}", data={})
    assert call.side(be.id).assignment_floor is False
    assert "floor" not in db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first().params


def test_staff_ask_one_reviewer_per_institution_from_the_page(client):
    """Two experts of one institution would both review the solar proposal; with the rule
    each proposal has at most one reviewer per institution, the total is the best such
    assignment (brute force), and the page shows its cost against the unconstrained one."""
    from tests.reviews.test_assignment_fairness import brute_force_fair

    call, be, staff, proposals, reviewers = setup_call(reviewers_per_proposal=2)
    for r, affiliation in zip(reviewers, ["KU Leuven", "ULB", "UGent", "ku leuven,"]):
        r.affiliation = affiliation  # Dr Sun and Dr Wide: the same institution, written differently
    db.session.flush()
    f.login(client, staff)
    plain = client.post(f"/reviews/automatic/{call.id}/{be.id}")
    plain_job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert plain_job.result["diversity"] is None
    solar = {p["reviewer_id"] for p in plain_job.result["pairs"] if p["proposal_id"] == proposals[0].id}
    assert solar == {reviewers[0].id, reviewers[3].id}  # both of KU Leuven
    assert plain.status_code == 302

    bad = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"diversity": "city"})
    assert bad.status_code == 422
    response = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"diversity": "institution"})
    assert response.status_code == 302
    assert call.side(be.id).assignment_diversity == "institution"
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert job.status == JobStatus.done and job.params["diversity"] == "institution"
    leuven = {reviewers[0].id, reviewers[3].id}
    for proposal in proposals:
        chosen = {p["reviewer_id"] for p in job.result["pairs"] if p["proposal_id"] == proposal.id}
        assert len(chosen) == 2 and len(chosen & leuven) <= 1
    diversity = job.result["diversity"]
    instance, a, conflicts, _p, reviewer_ids = _side_facts(call, be)
    groups = np.array([0 if rid in leuven else -1 for rid in reviewer_ids])
    best = brute_force_fair(a, instance.need, instance.max_load, conflicts, set(), groups)[0]
    unconstrained = brute_force_fair(a, instance.need, instance.max_load, conflicts, set(),
                                     np.full(instance.m, -1))[0]
    assert round(job.result["total_affinity"] * 1_000_000) == best
    assert round(diversity["unconstrained"] * 1_000_000) == unconstrained == \
        round(plain_job.result["total_affinity"] * 1_000_000)
    assert diversity["shared_without"] >= 1 and diversity["certified"] and job.result["certified_optimal"]
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "At most one reviewer of the same institution per proposal: total affinity " \
           f"{diversity['optimum']} against {diversity['unconstrained']}" in shown
    form = client.get(f"/reviews/automatic/{call.id}/{be.id}").get_data(as_text=True)
    assert '<option selected value="institution">' in form
    client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"diversity": ""})
    assert call.side(be.id).assignment_diversity is None


def test_only_staff_of_the_side_set_the_fairness_options(client):
    call, be, _staff, _proposals, _reviewers = setup_call()
    cn_staff = f.user(Role.staff, agency=call.sides[0].agency if call.sides[0].agency_id != be.id
                      else call.sides[1].agency)
    f.login(client, cn_staff)
    response = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"floor": "y", "diversity": "institution"})
    assert response.status_code in (403, 404)
    side = call.side(be.id)
    assert side.assignment_floor is False and side.assignment_diversity is None


def test_a_floor_run_shows_its_steps_in_the_progress(client):
    """A floor run solves four times; the progress moves through a slice per step (never
    back) and the message names the step, the floor's search included."""
    from cfp.reviews.assignment import DenseAffinity, Instance
    from cfp.reviews.assignment.fairness import floor_assignment
    from cfp.reviews.automatic import JOB_KIND, JobProgress

    call, be, staff, _proposals, _reviewers = setup_call()
    job = Job(kind=JOB_KIND, status=JobStatus.running, created_by_id=staff.id,
              params={"call_id": call.id, "agency_id": be.id, "pins": [], "floor": True})
    db.session.add(job)
    db.session.flush()
    seen = []

    class Recorded(JobProgress):
        def __call__(self, *report):
            super().__call__(*report)
            db.session.refresh(job)
            seen.append((self.step, job.progress, job.message))

    progress = Recorded(job.id, every=0)
    rng = np.random.default_rng(4)
    instance = Instance(DenseAffinity(rng.random((30, 20)) ** 3), need=2, max_load=4)
    floor_assignment(instance, progress=progress, step=lambda i: progress.begin(i, 4), k=3, reserve=1)
    assert [s for s, _p, _m in seen] == sorted(s for s, _p, _m in seen) and {0, 1, 2, 3} <= {s for s, *_ in seen}
    percents = [p for _s, p, _m in seen]
    assert percents == sorted(percents) and percents[-1] <= 98
    for step, percent, message in seen:
        assert 60 + 38 * step // 4 <= percent <= 60 + 38 * (step + 1) // 4 + 1
        assert message.startswith(f"Step {step + 1} of 4: ")
    assert any("Looking for the highest floor" in m for s, _p, m in seen if s == 1)


def test_a_job_stopped_by_an_unexpected_error_is_failed_and_says_so(client, monkeypatch):
    """A defect (or a lack of memory) inside the computation: the job ends failed with a
    message staff can act on, instead of "running" for ever; the error is logged."""
    from cfp.reviews import automatic

    call, be, staff, _proposals, _reviewers = setup_call()
    job = Job(kind=automatic.JOB_KIND, status=JobStatus.queued, created_by_id=staff.id,
              params={"call_id": call.id, "agency_id": be.id, "pins": []})
    db.session.add(job)
    db.session.commit()

    def broken(*args, **kwargs):
        raise MemoryError("the affinities did not fit")

    monkeypatch.setattr(automatic, "side_problem", broken)
    assert automatic.run_assignment_job(job.id) is None
    db.session.refresh(job)
    assert job.status == JobStatus.failed and job.progress == 100
    assert "unexpected error" in job.message
    f.login(client, staff)
    assert "unexpected error" in client.get(f"/reviews/automatic/jobs/{job.id}").get_data(as_text=True)


def test_one_reviewer_per_country_when_the_side_spans_several(client):
    """A side whose pool spans countries: with the rule, no proposal gets two reviewers of
    one country (as their profiles give it; a reviewer without one is a country of their
    own), the total is the best such assignment (brute force), and the page says so."""
    from cfp.reviews.models import ReviewerProfile
    from tests.reviews.test_assignment_fairness import brute_force_fair

    call, be, staff, proposals, reviewers = setup_call(reviewers_per_proposal=2)
    countries = dict(zip([r.id for r in reviewers], ["BE", "FR", None, "BE"]))
    for profile in db.session.scalars(sa.select(ReviewerProfile).where(
            ReviewerProfile.user_id.in_(list(countries)))):
        profile.country = countries[profile.user_id]
    db.session.flush()
    f.login(client, staff)
    response = client.post(f"/reviews/automatic/{call.id}/{be.id}", data={"diversity": "country"})
    assert response.status_code == 302
    assert call.side(be.id).assignment_diversity == "country"
    job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
    assert job.status == JobStatus.done and job.params["diversity"] == "country", job.message
    belgians = {rid for rid, country in countries.items() if country == "BE"}
    for proposal in proposals:
        chosen = {p["reviewer_id"] for p in job.result["pairs"] if p["proposal_id"] == proposal.id}
        assert len(chosen) == 2 and len(chosen & belgians) <= 1
    instance, a, conflicts, _p, reviewer_ids = _side_facts(call, be)
    groups = np.array([0 if rid in belgians else -1 for rid in reviewer_ids])
    best = brute_force_fair(a, instance.need, instance.max_load, conflicts, set(), groups)[0]
    assert round(job.result["total_affinity"] * 1_000_000) == best and job.result["certified_optimal"]
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "At most one reviewer of the same country per proposal: total affinity" in shown
    form = client.get(f"/reviews/automatic/{call.id}/{be.id}").get_data(as_text=True)
    assert '<option selected value="country">' in form


def test_a_reviewer_gives_the_country_of_their_institution(client):
    """The profile offers every country by its name in the reader's language and keeps the
    code; a value outside the list is refused with what was typed kept."""
    from cfp.reviews.models import ReviewerProfile

    _call, _be, _staff, _proposals, reviewers = setup_call()
    reviewer = reviewers[0]
    f.login(client, reviewer)
    page = client.get("/reviews/profile").get_data(as_text=True)
    assert '<option value="BE">Belgium</option>' in page and '<option value="CN">China</option>' in page
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewer.id))
    data = {"keywords": "perovskite solar cells", "expertise": "", "max_load": "5", "conflicts": "",
            "country": "BE"}
    assert client.post("/reviews/profile", data=data).status_code == 302
    db.session.refresh(profile)
    assert profile.country == "BE" and profile.keywords == "perovskite solar cells"
    refused = client.post("/reviews/profile", data={**data, "country": "XX", "keywords": "kept as typed"})
    assert refused.status_code == 422 and "kept as typed" in refused.get_data(as_text=True)
    db.session.refresh(profile)
    assert profile.country == "BE"
    client.post("/language", data={"language": "fr"})
    assert '<option selected value="BE">Belgique</option>' in client.get("/reviews/profile").get_data(as_text=True)
