"""Personal data (issue 13): a user downloads what is held about them, deletes their
account (anonymised, except the programme's record), and retention periods erase old
drafts and reviewers' confidential data."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cfp.auth.deletion import delete_account
from cfp.auth.models import AccountToken, LoginAttempt, User
from cfp.auth.personal_data import export_personal_data
from cfp.auth.retention import apply_retention
from cfp.calls.models import CallState
from cfp.core.audit import AuditEntry, audit_rows, log_action
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalDocument, ProposalSide, ProposalState
from cfp.reviews.models import (
    AssignmentState,
    Review,
    ReviewerProfile,
    ReviewRevision,
    ReviewScore,
    ReviewState,
)
from tests import factories as f


@pytest.fixture
def scene():
    cn, be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn, name="Li Wei", name_original="李伟", email="li.wei@example.org",
                orcid="0000-0002-1825-0097", affiliation="Tsinghua University")
    partner = f.user(Role.researcher, agency=be, name="Anne Partner", email="anne.partner@example.org")
    call = f.call(committee)
    submitted = f.proposal(call, pi, partner, state=ProposalState.submitted, title="Submitted one")
    return {"cn": cn, "be": be, "committee": committee, "pi": pi, "partner": partner, "call": call,
            "submitted": submitted}


def audits(user, action):
    return db.session.scalars(sa.select(AuditEntry).filter_by(action=action, object_type="User",
                                                              object_id=user.id)).all()


def review_of(assignment, *, confidential="Confidential: weak team", score="4.5", submitted=True):
    review = Review(assignment=assignment, comments_to_applicants="Good work",
                    confidential_comments=confidential, weighted_score=Decimal(score),
                    state=ReviewState.submitted if submitted else ReviewState.draft, submitted_at=utcnow() if submitted else None)
    review.scores = [ReviewScore(criterion_id=assignment.proposal.call.criteria[0].id, score=Decimal(score))]
    if submitted:
        review.revisions = [ReviewRevision(number=1, scores={}, confidential_comments=confidential)]
    db.session.add(review)
    db.session.flush()
    return review


# Export.

def test_the_export_holds_the_users_own_data_and_not_the_partners(scene, client):
    pi, partner = scene["pi"], scene["partner"]
    f.outbox_message(pi, subject="Your receipt")
    data = export_personal_data(pi)
    assert data["account"]["email"] == "li.wei@example.org"
    assert data["account"]["name_original"] == "李伟"
    assert data["account"]["orcid"] == "0000-0002-1825-0097"
    assert data["account"]["created_at"].endswith("Z")
    [proposal] = data["proposals"]
    assert proposal["title"] == "Submitted one" and proposal["state"] == "submitted"
    assert proposal["your_side"] == "MOST" and proposal["requested_amount"] == "200000.00"
    assert [m["subject"] for m in data["messages_sent_to_you"]] == ["Your receipt"]
    text = json.dumps(data, ensure_ascii=False)
    assert partner.email not in text and partner.name not in text


def test_the_export_has_the_reviews_the_user_wrote(scene):
    reviewer = f.reviewer(scene["cn"], name="Reviewer Zhang")
    assignment = f.assignment(scene["submitted"], reviewer, state=AssignmentState.submitted)
    review_of(assignment)
    [entry] = export_personal_data(reviewer)["review_assignments"]
    assert entry["review"]["confidential_comments"] == "Confidential: weak team"
    assert entry["review"]["scores"] == [{"criterion": "Excellence", "score": "4.5"}]
    assert Decimal(entry["review"]["weighted_score"]) == Decimal("4.5")
    assert export_personal_data(reviewer)["reviewer_profile"]["keywords"] == "materials, energy"


def test_download_my_data_is_a_dated_json_attachment_and_audited(scene, client):
    pi = scene["pi"]
    log_action(pi, "proposal.save", scene["submitted"])
    db.session.flush()
    f.login(client, pi)
    response = client.post("/account/data")
    assert response.status_code == 200
    day = utcnow().date().isoformat()
    assert response.headers["Content-Disposition"] == f"attachment; filename=cfp-my-data-{day}.json"
    data = json.loads(response.data)
    assert data["account"]["email"] == pi.email
    assert {"action": "proposal.save", "object_type": "Proposal", "object_id": scene["submitted"].id} \
        .items() <= next(a for a in data["your_actions"] if a["action"] == "proposal.save").items()
    assert len(audits(pi, "user.export_data")) == 1
    assert "Download my data" in client.get("/account").get_data(as_text=True)


# Deletion.

def test_deletion_anonymises_and_keeps_the_submitted_proposals_name_as_it_was(scene, client):
    pi, submitted = scene["pi"], scene["submitted"]
    db.session.add(AccountToken(user=pi, purpose="verify_email", token_hash="x" * 64, email=pi.email,
                                expires_at=utcnow() + timedelta(days=1)))
    db.session.add(LoginAttempt(email=pi.email, address="10.0.0.1", succeeded=True))
    f.outbox_message(pi, subject="Your receipt, Li Wei")
    f.login(client, pi)
    page = client.get("/account/delete").get_data(as_text=True)
    assert "Submitted proposals and funded projects" in page and submitted.reference in page
    response = client.post("/account/delete", data={"password": f.PASSWORD, "confirm": "y",
                                                    "reason": "Leaving research"})
    assert response.status_code == 302
    user = db.session.get(User, pi.id)
    assert user.email == f"deleted-{pi.id}@invalid" and user.name == f"Deleted user {pi.id}"
    assert (user.name_original, user.orcid, user.affiliation, user.password_hash) == (None, None, None, None)
    assert not user.active and user.anonymised_at is not None and user.roles == []
    side = db.session.scalar(sa.select(ProposalSide).filter_by(proposal_id=submitted.id, pi_user_id=pi.id))
    assert side.pi_display_name == "Li Wei (李伟)"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountToken)
                             .where(AccountToken.user_id == pi.id)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)
                             .where(LoginAttempt.email == "li.wei@example.org")) == 0
    # A confirmation to the address as it was; the older mail forgets the address.
    confirmation = db.session.scalar(sa.select(OutboxMessage).filter_by(template="account_deleted"))
    assert confirmation.recipient == "li.wei@example.org" and "Li Wei" in confirmation.body
    old = db.session.scalar(sa.select(OutboxMessage).filter_by(template="test", recipient_user_id=pi.id))
    assert old.recipient == f"deleted-{pi.id}@invalid" and old.body == ""
    # The session ended: the account page asks to log in.
    assert client.get("/account").status_code == 302
    # Admins see the request and the outcome; the log no longer holds the address.
    assert [e.after for e in audits(pi, "user.deletion_requested")] == [{"reason": "Leaving research"}]
    assert len(audits(pi, "user.anonymised")) == 1
    text = json.dumps([[e.before, e.after] for e in db.session.scalars(sa.select(AuditEntry))])
    assert "li.wei@example.org" not in text
    labels = [r.object_label for r in audit_rows(audits(pi, "user.anonymised"))]
    assert labels == [f"User Deleted user {pi.id}"]
    # The partner still sees the proposal with the PI's name as it was at submission.
    f.login(client, scene["partner"])
    assert "Li Wei (李伟)" in client.get(f"/proposals/{submitted.id}").get_data(as_text=True)


def test_the_submission_records_the_pis_names(scene):
    side = scene["submitted"].sides[0]
    side.record_pi_name()
    scene["pi"].name = "Renamed"
    assert side.pi_display_name == "Li Wei (李伟)"


def test_drafts_alone_are_deleted_and_shared_drafts_are_left_to_the_partner(scene, app):
    pi, partner, call, cn = scene["pi"], scene["partner"], scene["call"], scene["cn"]
    alone = f.proposal(call, pi, title="Only mine")
    doc = f.document(alone, cn, "CV", pi)
    shared = f.proposal(call, pi, partner, title="Shared draft")
    shared.sides[1].confirmed_version = 1
    outcome = delete_account(pi, pi, password=f.PASSWORD)
    assert outcome.done
    assert db.session.get(Proposal, alone.id) is None
    assert db.session.get(ProposalDocument, doc.id) is None
    db.session.refresh(shared)
    assert shared.side(cn).pi_user_id is None
    assert all(s.confirmed_version is None for s in shared.sides)
    told = db.session.scalar(sa.select(OutboxMessage).filter_by(template="partner_left"))
    assert told.recipient == partner.email and "Shared draft" in told.subject
    assert len(db.session.scalars(sa.select(AuditEntry).filter_by(action="proposal.pi_left")).all()) == 1


def test_reviews_stay_without_the_reviewers_identity(scene):
    reviewer = f.reviewer(scene["cn"], name="Reviewer Zhang")
    assignment = f.assignment(scene["submitted"], reviewer, state=AssignmentState.submitted)
    review = review_of(assignment)
    invited = f.assignment(f.proposal(scene["call"], f.user(Role.researcher, agency=scene["cn"]),
                                      scene["partner"], state=ProposalState.in_review),
                           reviewer, state=AssignmentState.invited)
    assert delete_account(reviewer, reviewer, password=f.PASSWORD).done
    assert db.session.get(Review, review.id).scores[0].score == Decimal("4.5")
    assert assignment.reviewer.name == f"Deleted user {reviewer.id}"
    assert db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewer.id)) is None
    assert invited.state == AssignmentState.declined


@pytest.mark.parametrize("role", [Role.staff, Role.secretariat, Role.cochair, Role.admin])
def test_deletion_is_refused_to_a_holder_of_a_committee_role(scene, client, role):
    holder = f.user(role, agency=scene["cn"], email="holder@example.org")
    f.login(client, holder)
    response = client.post("/account/delete", data={"password": f.PASSWORD, "confirm": "y"})
    assert response.status_code == 422
    assert "an administrator must revoke it" in response.get_data(as_text=True)
    assert db.session.get(User, holder.id).email == "holder@example.org"
    [refused] = audits(holder, "user.deletion_refused")
    assert "revoke" in refused.after["reasons"][0]
    assert len(audits(holder, "user.deletion_requested")) == 1
    assert audits(holder, "user.anonymised") == []


def test_deletion_is_refused_while_a_review_is_in_progress(scene, client):
    reviewer = f.reviewer(scene["cn"])
    f.assignment(scene["submitted"], reviewer, state=AssignmentState.accepted)
    f.login(client, reviewer)
    assert "review(s) in progress" in client.get("/account/delete").get_data(as_text=True)
    response = client.post("/account/delete", data={"password": f.PASSWORD, "confirm": "y"})
    assert response.status_code == 422
    assert scene["submitted"].reference in response.get_data(as_text=True)
    assert db.session.get(User, reviewer.id).active
    assert len(audits(reviewer, "user.deletion_refused")) == 1


def test_a_wrong_password_deletes_nothing_and_says_so(scene, client):
    pi = scene["pi"]
    f.login(client, pi)
    response = client.post("/account/delete", data={"password": "not my password", "confirm": "y"})
    assert response.status_code == 422 and "The password is not right." in response.get_data(as_text=True)
    assert db.session.get(User, pi.id).active
    assert audits(pi, "user.deletion_requested") == []
    assert client.post("/account/delete", data={"password": f.PASSWORD}).status_code == 422  # unconfirmed


# Retention.

def test_retention_deletes_an_old_draft_and_keeps_a_recent_one(scene, app):
    pi, call = scene["pi"], scene["call"]
    now = utcnow()
    old = f.proposal(call, pi, title="Forgotten draft")
    recent = f.proposal(call, pi, title="Recent draft")
    days = app.config["RETAIN_DRAFTS_DAYS"]
    db.session.execute(sa.update(Proposal).where(Proposal.id == old.id)
                       .values(updated_at=now - timedelta(days=days + 1)))
    db.session.execute(sa.update(Proposal).where(Proposal.id == scene["submitted"].id)
                       .values(updated_at=now - timedelta(days=days + 1)))
    db.session.expire_all()
    done = apply_retention(now)
    assert done["drafts_deleted"] == 1
    assert db.session.get(Proposal, old.id) is None
    assert db.session.get(Proposal, recent.id) is not None
    assert db.session.get(Proposal, scene["submitted"].id) is not None  # submitted: kept
    assert db.session.scalars(sa.select(AuditEntry).filter_by(action="proposal.retention_deleted")).all()


def test_retention_erases_old_confidential_comments_and_keeps_scores(scene, app):
    call, now = scene["call"], utcnow()
    reviewer = f.reviewer(scene["cn"])
    assignment = f.assignment(scene["submitted"], reviewer, state=AssignmentState.submitted)
    review = review_of(assignment)
    conflicted = f.assignment(f.proposal(call, f.user(Role.researcher, agency=scene["cn"]), scene["partner"],
                                         state=ProposalState.in_review),
                              reviewer, state=AssignmentState.conflict)
    conflicted.conflict_reason = "My former student"
    call.state = CallState.decided
    call.decided_at = now - timedelta(days=app.config["RETAIN_REVIEWER_DATA_DAYS"] - 1)
    db.session.flush()
    assert apply_retention(now)["reviews_erased"] == 0  # not yet
    call.decided_at = now - timedelta(days=app.config["RETAIN_REVIEWER_DATA_DAYS"] + 1)
    db.session.flush()
    done = apply_retention(now)
    assert (done["reviews_erased"], done["conflicts_erased"]) == (1, 1)
    db.session.refresh(review)
    assert review.confidential_comments == "" and review.revisions[0].confidential_comments == ""
    assert review.comments_to_applicants == "Good work"
    assert review.scores[0].score == Decimal("4.5") and review.weighted_score == Decimal("4.5")
    assert conflicted.conflict_reason is None
    assert apply_retention(now)["reviews_erased"] == 0  # nothing left to do


def test_the_retention_task_is_on_the_daily_beat(app):
    from workers.schedule import BEAT_SCHEDULE

    assert any(e["task"] == "auth.apply_retention" for e in BEAT_SCHEDULE.values())
    assert app.extensions["celery"].tasks["auth.apply_retention"].delay().get() is not None
