"""Eligibility per side: rules configured per call and side, evaluated by a Celery task
on submission, each result confirmed or overridden by that side's staff, who decide."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cfp.core.audit import AuditEntry
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import EligibilityCheck, EligibilityStatus, ProposalState
from cfp.proposals.operations import confirm_proposal
from tests import factories as f


@pytest.fixture
def submitted(app, client):
    """Submitted through the web: the rules task runs (eagerly) after the commit."""
    cn, be, committee = f.world()
    call = f.call(committee)
    call.side(cn).eligibility_rule_config = [
        {"rule": "pi_has_phd"}, {"rule": "affiliation_in_country"},
        {"rule": "duration_within", "min": 12, "max": 36}, {"rule": "one_proposal_per_pi"},
    ]
    call.side(be).eligibility_rule_config = [{"rule": "budget_within_cap"}, {"rule": "documents_present"}]
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be)
    proposal.side(cn).pi_has_phd = False  # the CN PI has no PhD
    proposal.side(cn).institution_country = cn.country
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    staff_cn = f.user(Role.staff, agency=cn)
    staff_be = f.user(Role.staff, agency=be)
    db.session.commit()
    f.login(client, pi_cn)
    assert client.post(f"/proposals/{proposal.id}/submit").status_code == 302
    client.post("/logout")
    db.session.expire_all()
    return proposal, cn, be, staff_cn, staff_be


def check_of(proposal, agency) -> EligibilityCheck:
    return db.session.scalar(sa.select(EligibilityCheck).filter_by(proposal_id=proposal.id, agency_id=agency.id))


def test_the_task_records_each_rules_result_on_each_sides_check(submitted):
    proposal, cn, be, *_ = submitted
    cn_results = {r["rule"]: r["passed"] for r in check_of(proposal, cn).rule_results}
    assert cn_results == {"pi_has_phd": False, "affiliation_in_country": True, "duration_within": True,
                          "one_proposal_per_pi": True}
    be_results = {r["rule"]: r["passed"] for r in check_of(proposal, be).rule_results}
    assert be_results == {"budget_within_cap": True, "documents_present": True}
    # Idempotent: running the task again changes nothing.
    from workers.proposals import evaluate_eligibility_rules

    assert evaluate_eligibility_rules.delay(proposal.id).get() == 0


def test_a_proposal_found_ineligible_by_one_side_only(submitted, client):
    proposal, cn, be, staff_cn, staff_be = submitted
    base = f"/proposals/{proposal.id}/eligibility"
    f.login(client, staff_cn)
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "The PI holds a PhD" in page and "The PI does not hold a PhD." in page
    # Deciding before every rule is confirmed or overridden is refused.
    page = client.post(f"{base}/{cn.id}", data={"decision": "eligible"}, follow_redirects=True).data.decode()
    assert "Confirm or override each automatic rule first (4 left)" in page
    for i in range(4):
        assert client.post(f"{base}/{cn.id}/rules/{i}",
                           data={"passed": "no" if i == 0 else "yes"}).status_code == 302
    page = client.post(f"{base}/{cn.id}", data={"decision": "eligible"}, follow_redirects=True).data.decode()
    assert "cannot be eligible" in page
    client.post(f"{base}/{cn.id}", data={"decision": "ineligible", "reason": "The PI holds no PhD."})
    client.post("/logout")
    f.login(client, staff_be)
    # BE staff see their side's rules only, and find the proposal eligible.
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "The PI does not hold a PhD." not in page
    for i in range(2):
        client.post(f"{base}/{be.id}/rules/{i}", data={"passed": "yes"})
    client.post(f"{base}/{be.id}", data={"decision": "eligible"})
    db.session.expire_all()
    assert check_of(proposal, cn).status == EligibilityStatus.ineligible
    assert check_of(proposal, be).status == EligibilityStatus.eligible
    assert proposal.state == ProposalState.ineligible
    letters = db.session.scalars(sa.select(OutboxMessage).filter_by(template="proposal_ineligible")).all()
    assert len(letters) == 2 and all("The PI holds no PhD." in m.body for m in letters)


def test_staff_override_a_rule_with_a_reason_and_both_sides_make_it_eligible(submitted, client):
    proposal, cn, be, staff_cn, staff_be = submitted
    base = f"/proposals/{proposal.id}/eligibility"
    f.login(client, staff_cn)
    page = client.post(f"{base}/{cn.id}/rules/0", data={"passed": "yes"}, follow_redirects=True).data.decode()
    assert "Give the reason for overriding" in page
    client.post(f"{base}/{cn.id}/rules/0", data={"passed": "yes", "reason": "PhD certificate sent by email"})
    for i in range(1, 4):
        client.post(f"{base}/{cn.id}/rules/{i}", data={"passed": "yes"})
    client.post(f"{base}/{cn.id}", data={"decision": "eligible"})
    client.post("/logout")
    f.login(client, staff_be)
    for i in range(2):
        client.post(f"{base}/{be.id}/rules/{i}", data={"passed": "yes"})
    client.post(f"{base}/{be.id}", data={"decision": "eligible"})
    db.session.expire_all()
    assert proposal.state == ProposalState.eligible
    override = db.session.scalar(sa.select(AuditEntry).filter_by(action="eligibility.rule_override"))
    assert override.actor_id == staff_cn.id and override.after["reason"] == "PhD certificate sent by email"
    assert check_of(proposal, cn).rule_results[0]["staff"]["override"] is True


def test_staff_of_the_other_side_cannot_review_a_rule(submitted, client):
    proposal, cn, _be, _staff_cn, staff_be = submitted
    f.login(client, staff_be)
    assert client.post(f"/proposals/{proposal.id}/eligibility/{cn.id}/rules/0",
                       data={"passed": "yes", "reason": "x"}).status_code == 403


def test_staff_configure_the_rules_on_the_call_form_and_applicants_read_them(app, client):
    cn, _be, committee = f.world()
    call = f.call(committee, state=__import__("cfp.calls.models", fromlist=["CallState"]).CallState.draft)
    staff = f.user(Role.staff, agency=cn)
    db.session.commit()
    f.login(client, staff)
    page = client.get(f"/calls/{call.id}/edit").data.decode()
    assert "Rule: the PI holds a PhD" in page and "Maximum pages per document" in page
    from cfp.calls.forms import CallSideForm

    form = CallSideForm(data={"rule_pi_has_phd": True, "rule_duration_min": 12, "rule_duration_max": 36})
    assert form.rule_config() == [{"rule": "pi_has_phd"}, {"rule": "duration_within", "min": 12, "max": 36}]
    call.side(cn).eligibility_rule_config = form.rule_config()
    db.session.commit()
    page = client.get(f"/calls/{call.id}").data.decode()
    assert "The PI holds a PhD" in page and "The duration is between 12 and 36 months" in page


def test_staff_cannot_decide_before_the_rules_are_checked(app, client):
    """Until the rules task has run (its row waits while the broker or the worker is
    down), deciding is refused with the reason, and nothing is recorded."""
    from cfp.proposals.eligibility import evaluate_rules
    from cfp.proposals.operations import submit_proposal

    cn, be, committee = f.world()
    call = f.call(committee)
    call.side(cn).eligibility_rule_config = [{"rule": "pi_has_phd"}]
    pi_cn, pi_be = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be)
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    submit_proposal(pi_cn, proposal)
    staff_cn = f.user(Role.staff, agency=cn)
    db.session.commit()
    # Tests run tasks eagerly at commit: back to how the check stands until a worker runs it.
    check_of(proposal, cn).rule_results = None
    db.session.commit()
    f.login(client, staff_cn)
    page = client.post(f"/proposals/{proposal.id}/eligibility/{cn.id}", data={"decision": "eligible"},
                       follow_redirects=True).data.decode()
    assert "have not been checked yet" in page and f'id="rules-pending-{cn.id}"' in page
    db.session.expire_all()
    assert check_of(proposal, cn).status == EligibilityStatus.pending
    evaluate_rules(proposal)
    db.session.commit()
    page = client.post(f"/proposals/{proposal.id}/eligibility/{cn.id}", data={"decision": "eligible"},
                       follow_redirects=True).data.decode()
    assert "Confirm or override each automatic rule first (1 left)" in page
