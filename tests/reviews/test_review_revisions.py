"""A reviewer reads their own submitted review and revises it until staff close their
side's review stage (issue 10): every submission is kept in the review's history, and
the side's ranking is recomputed by the queued task."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState, RankingEntry, ReviewState
from cfp.reviews.stage import close_review_stage
from tests import factories as f


def scene():
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.in_review, closes_at=utcnow() - timedelta(days=10),
                  opens_at=utcnow() - timedelta(days=40))
    p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.in_review)
    reviewer = f.reviewer(cn)
    mine = f.assignment(p, reviewer)
    return call, cn, p, reviewer, mine


def post_review(client, call, assignment, excellence, impact, comments, **extra):
    first, second = call.criteria
    data = {f"score_{first.id}": excellence, f"score_{second.id}": impact,
            "comments_to_applicants": comments, "confidential_comments": extra.pop("confidential", ""),
            "recommendation": extra.pop("recommendation", "fund"), "submit": "submit"}
    return client.post(f"/reviews/assignments/{assignment.id}/review", data=data)


def test_after_submitting_a_reviewer_reads_their_own_review(client):
    call, _cn, _p, reviewer, mine = scene()
    f.login(client, reviewer)
    response = post_review(client, call, mine, "4.5", "3", "The consortium is strong.",
                           confidential="Slightly over budget.", recommendation="fund_if_possible")
    assert response.status_code == 302
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    review = page[page.index('id="my-review"'):]
    assert "The consortium is strong." in review and "Slightly over budget." in review
    assert "4.5" in review and "fund if budget allows" in review
    assert "4.000" in review  # the weighted score, (2 × 4.5 + 3) / 3


def test_a_reviewer_revises_their_review_and_each_revision_is_kept(client):
    call, cn, _p, reviewer, mine = scene()
    f.login(client, reviewer)
    assert post_review(client, call, mine, "4.5", "3", "First thoughts.").status_code == 302
    ranked = db.session.scalar(sa.select(RankingEntry).filter_by(call_id=call.id, agency_id=cn.id))
    assert ranked.mean_score == Decimal("4.000")

    response = post_review(client, call, mine, "2", "2.5", "On reflection, the plan is thin.",
                           recommendation="do_not_fund")
    assert response.status_code == 302
    db.session.refresh(mine)
    review = mine.review
    assert mine.state == AssignmentState.submitted and review.state == ReviewState.submitted
    assert review.comments_to_applicants == "On reflection, the plan is thin."
    assert [r.number for r in review.revisions] == [1, 2]
    first, second = review.revisions
    assert first.comments_to_applicants == "First thoughts." and first.weighted_score == Decimal("4.000")
    assert second.weighted_score == Decimal("2.167")
    assert first.scores == {str(call.criteria[0].id): "4.5", str(call.criteria[1].id): "3.0"}
    # The ranking followed (the queued task ran after the commit).
    db.session.expire_all()
    ranked = db.session.scalar(sa.select(RankingEntry).filter_by(call_id=call.id, agency_id=cn.id))
    assert ranked.mean_score == Decimal("2.167")
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    history = page[page.index('id="review-history"'):]
    assert "First thoughts." in history and "On reflection, the plan is thin." in history
    assert "4.000" in history and "2.167" in history


def test_a_revision_is_checked_like_a_submission(client):
    call, _cn, _p, reviewer, mine = scene()
    f.login(client, reviewer)
    post_review(client, call, mine, "4.5", "3", "First thoughts.")
    response = post_review(client, call, mine, "", "3", "")
    assert response.status_code in (200, 422)
    db.session.refresh(mine)
    assert mine.review.comments_to_applicants == "First thoughts." and len(mine.review.revisions) == 1
    # A submitted review is not put back to a draft.
    first, second = call.criteria
    client.post(f"/reviews/assignments/{mine.id}/review", data={
        f"score_{first.id}": "1", f"score_{second.id}": "1", "comments_to_applicants": "x", "save": "save"})
    db.session.refresh(mine)
    assert mine.review.state == ReviewState.submitted and mine.review.comments_to_applicants == "First thoughts."


def test_revisions_stop_when_staff_close_the_sides_review_stage(client):
    call, cn, _p, reviewer, mine = scene()
    f.login(client, reviewer)
    post_review(client, call, mine, "4.5", "3", "First thoughts.")
    close_review_stage(f.user(Role.staff, agency=cn), call, cn.id)
    db.session.commit()
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    assert "Submit the revision" not in page and "First thoughts." in page
    response = post_review(client, call, mine, "1", "1", "Too late.")
    assert response.status_code in (200, 302, 422)
    db.session.refresh(mine)
    assert mine.review.comments_to_applicants == "First thoughts." and len(mine.review.revisions) == 1


# Asked before: cfp.js shows a button's (or its form's) data-confirm before submitting.

def _question(page: str, button_text: str) -> str:
    """The data-confirm of the button labelled `button_text` (or of its form)."""
    end = page.index(f">{button_text}</button>")
    button = page[page.rindex("<button", 0, end):end]
    form = page[page.rindex("<form", 0, end):end]
    for tag in (button, form):
        if 'data-confirm="' in tag:
            return tag.split('data-confirm="', 1)[1].split('"', 1)[0]
    return ""


def test_submitting_a_review_asks_first_and_says_what_follows(client):
    call, _cn, p, reviewer, mine = scene()
    f.login(client, reviewer)
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    question = _question(page, "Submit the review")
    assert p.reference in question and "MOST" in question and "ranking" in question
    assert "revise" in question and "close the review stage" in question
    assert _question(page, "Save the draft") == ""  # a draft is not asked about
    post_review(client, call, mine, "4.5", "3", "First thoughts.")
    page = client.get(f"/reviews/assignments/{mine.id}").data.decode()
    question = _question(page, "Submit the revision")
    assert "history" in question and "ranking" in question


def test_declining_and_declaring_ask_first(client):
    _call, _cn, p, reviewer, _mine = scene()
    other = f.proposal(p.call, p.sides[0].pi, p.sides[1].pi, state=ProposalState.in_review, title="Other")
    invitation = f.assignment(other, reviewer, state=AssignmentState.invited, no_conflict=False)
    f.login(client, reviewer)
    page = client.get(f"/reviews/assignments/{invitation.id}").data.decode()
    assert "another reviewer" in _question(page, "Decline").lower()
    assert _question(page, "Accept") == ""
    client.post(f"/reviews/assignments/{invitation.id}/answer", data={"accept": "Accept"})
    page = client.get(f"/reviews/assignments/{invitation.id}").data.decode()
    assert "cannot be changed" in _question(page, "Declare")


def test_the_script_asks_the_buttons_question_too():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "cfp" / "static" / "cfp.js").read_text()
    assert "event.submitter" in script
