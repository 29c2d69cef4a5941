"""The applicant's dashboard: each proposal's status as a timeline from the audit log,
in a bounded number of queries whatever the number of proposals."""
from __future__ import annotations

from cfp.core.audit import log_action
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.operations import confirm_proposal, submit_proposal, withdraw_proposal
from tests import factories as f
from tests.test_query_counts import count_queries


def _proposals(call, pi, partner, n):
    for i in range(n):
        p = f.proposal(call, pi, partner, title=f"Proposal {i}")
        log_action(pi, "proposal.start", p)
        confirm_proposal(pi, p, p.version)
        confirm_proposal(partner, p, p.version)
        submit_proposal(pi, p)


def test_the_dashboard_shows_each_proposals_timeline(app, client):
    cn, be, committee = f.world()
    call = f.call(committee)
    pi = f.user(Role.researcher, agency=cn)
    partner = f.user(Role.researcher, agency=be)
    p = f.proposal(call, pi, partner, title="Tandem cells")
    log_action(pi, "proposal.start", p)
    confirm_proposal(pi, p, p.version)
    confirm_proposal(partner, p, p.version)
    submit_proposal(pi, p)
    withdraw_proposal(partner, p, "The partner moved institution")
    db.session.commit()
    f.login(client, pi)
    page = client.get("/proposals/mine").data.decode()
    start, submitted, withdrawn = (page.index("Draft started"), page.index("— Submitted"),
                                   page.index("— Withdrawn"))
    assert start < submitted < withdrawn


def test_the_dashboard_runs_the_same_queries_for_two_or_eight_proposals(app, client):
    cn, be, committee = f.world()
    call = f.call(committee)
    pi = f.user(Role.researcher, agency=cn)
    partner = f.user(Role.researcher, agency=be)
    _proposals(call, pi, partner, 2)
    db.session.commit()
    f.login(client, pi)
    with count_queries() as few:
        assert client.get("/proposals/mine").status_code == 200
    _proposals(call, pi, partner, 6)
    db.session.commit()
    with count_queries() as many:
        page = client.get("/proposals/mine").data.decode()
    assert page.count("— Submitted") == 8
    assert many["n"] == few["n"]
