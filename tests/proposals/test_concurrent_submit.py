"""Both PIs press Submit at the same moment: one submission, one reference, one pair of
eligibility checks; the second click is told the proposal is already submitted, with its
reference; nobody sees a 500."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import EligibilityCheck, Proposal, ProposalState
from cfp.proposals.operations import confirm_proposal
from tests import factories as f

pytestmark = pytest.mark.real_commits


@pytest.fixture(autouse=True)
def _celery_join_flag():
    """Eager tasks started from several threads at once can leave Celery's process-wide
    "inside a task" flag set: each eager apply_async sets it and puts back what it found,
    unsynchronised between threads. Later tests' `.get()` then raised "Never call
    result.get() within a task!" (the full run met it after the eight-thread test)."""
    from celery._state import _set_task_join_will_block

    yield
    _set_task_join_will_block(False)


def test_both_pis_submitting_at_once_get_one_submission_and_no_error(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei")
    pi_be = f.user(Role.researcher, agency=be, name="Claire Dubois")
    proposal = f.proposal(call, pi_cn, pi_be)
    for pi in (pi_cn, pi_be):
        confirm_proposal(pi, proposal, proposal.version)
    db.session.commit()
    proposal_id = proposal.id

    clients = {}
    for pi in (pi_cn, pi_be):
        clients[pi] = FlaskClient(app)  # each request in its own app context, as in a server thread
        f.login(clients[pi], pi)
    start, answers, errors = threading.Barrier(2), {}, []

    def press(pi):
        try:
            start.wait()
            answers[pi.name] = clients[pi].post(f"/proposals/{proposal_id}/submit",
                                                data={"submit": "y"}).status_code
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(pi,)) for pi in (pi_cn, pi_be)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(answers.values()) == [302, 302], answers
    db.session.rollback()
    proposal = db.session.get(Proposal, proposal_id, populate_existing=True)
    assert proposal.state == ProposalState.submitted and proposal.reference.endswith("-001")
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))
                             .filter_by(proposal_id=proposal_id)) == 2


def test_a_submission_that_read_the_proposal_before_the_other_committed_is_told_so(app):
    """What the second click does, step by step: it loaded the draft, then the first
    click's submission committed, then it submits."""
    from cfp.proposals.operations import AlreadySubmitted, submit_proposal

    cn, be, committee = f.world()
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(f.call(committee), pi_cn, pi_be)
    for pi in (pi_cn, pi_be):
        confirm_proposal(pi, proposal, proposal.version)
    db.session.commit()
    proposal_id, cn_id, be_id = proposal.id, pi_cn.id, pi_be.id

    with app.app_context():  # the second click's request: it has read the draft
        second = db.session.get(Proposal, proposal_id)
        assert second.state == ProposalState.draft and second.call.submitted_count == 0
        db.session().expire_on_commit = False  # keep what it read, as loaded objects are
        db.session.commit()  # (SQLite would make the other writer wait for an open read)
        with app.app_context():  # meanwhile the first click's request submits and commits
            from cfp.auth.models import User

            first = submit_proposal(db.session.get(User, cn_id), db.session.get(Proposal, proposal_id))
            reference = first.reference
            db.session.commit()
        with pytest.raises(AlreadySubmitted) as told:
            submit_proposal(db.session.get(User, be_id), second)
        assert reference in told.value.message
        db.session.rollback()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))
                             .filter_by(proposal_id=proposal_id)) == 2


def test_proposals_of_one_call_submitted_at_once_are_numbered_without_gap_or_repeat(app):
    """Submissions of one call no longer wait for each other for their whole length (the
    call's counter is taken last): eight at once, each in a transaction of its own as in a
    server's threads, still get 001 to 008, each once."""
    from cfp.auth.models import User
    from cfp.proposals.operations import submit_proposal

    cn, be, committee = f.world()
    call = f.call(committee)
    pairs = []
    for n in range(8):
        pi_cn = f.user(Role.researcher, agency=cn, name=f"PI {n}")
        pi_be = f.user(Role.researcher, agency=be, name=f"Partner {n}")
        proposal = f.proposal(call, pi_cn, pi_be)
        for pi in (pi_cn, pi_be):
            confirm_proposal(pi, proposal, proposal.version)
        pairs.append((pi_cn.id, proposal.id))
    db.session.commit()
    start, errors = threading.Barrier(len(pairs)), []

    def press(user_id, proposal_id):
        try:
            start.wait()
            # A request's context, as the server gives it (on SQLite it begins with the write lock).
            with app.test_request_context(f"/proposals/{proposal_id}/submit", method="POST"):
                user, proposal = db.session.get(User, user_id), db.session.get(Proposal, proposal_id)
                submit_proposal(user, proposal)
                db.session.commit()
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=press, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    db.session.rollback()
    ids = [proposal_id for _user, proposal_id in pairs]
    references = sorted(db.session.scalars(sa.select(Proposal.reference).where(Proposal.id.in_(ids))))
    assert references == [f"{call.reference}-{n:03d}" for n in range(1, 9)]
    assert db.session.get(type(call), call.id, populate_existing=True).submitted_count == 8
