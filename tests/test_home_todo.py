"""After login, the home page says what waits for the user now, per role, with counts."""
from __future__ import annotations

import re

from cfp.core.roles import Role
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState
from tests import factories as f


def _todo(client) -> dict[str, int]:
    page = client.get("/").data.decode()
    if 'id="todo"' not in page:
        return {}
    block = page[page.index('id="todo"'):page.index("</ul>", page.index('id="todo"'))]
    return {label: int(count) for label, count in re.findall(r'">([^<]+)</a><span[^>]*>(\d+)</span>', block)}


def test_each_role_sees_what_waits_for_it(client):
    cn, be, committee = f.world()
    call = f.call(committee)
    pi = f.user(Role.researcher, agency=cn)
    reviewer = f.reviewer(cn)
    staff = f.user(Role.staff, agency=cn)
    f.proposal(call, pi, title="Unconfirmed draft")
    submitted = f.proposal(call, pi, f.user(Role.researcher, agency=be), state=ProposalState.submitted)
    f.assignment(f.proposal(call, f.user(agency=cn), state=ProposalState.in_review), reviewer,
                 state=AssignmentState.invited, no_conflict=False)
    assert submitted.eligibility_checks
    f.login(client, pi)
    assert _todo(client) == {"Drafts waiting for your confirmation": 1}
    client.post("/logout")
    f.login(client, reviewer)
    assert _todo(client) == {"Review invitations to answer": 1}
    client.post("/logout")
    f.login(client, staff)
    assert _todo(client) == {"Eligibility checks to record for your side": 1}
    client.post("/logout")
    f.login(client, f.user(Role.researcher, agency=cn))
    assert _todo(client) == {}
    assert "Nothing waits for you now." in client.get("/").data.decode()
