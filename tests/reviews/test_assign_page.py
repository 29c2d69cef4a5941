"""*Reviewers of my side* (issue 10): the side's pool offered by affinity with the proposal,
each with their load, without those already on the proposal."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState, ReviewerProfile
from tests import factories as f


def scene():
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.in_review, closes_at=utcnow() - timedelta(days=1),
                  opens_at=utcnow() - timedelta(days=30))
    p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.in_review, title="Perovskite solar cells")
    p.abstract, p.keywords = "Stability of perovskite photovoltaic cells.", "perovskite, solar"
    people = {}
    for name, keywords, max_load in [("Dr Medieval", "medieval history; manuscripts", 8),
                                     ("Dr Solar", "solar energy; photovoltaic", 5),
                                     ("Dr Perovskite", "perovskite; photovoltaic; solar cells", 3),
                                     ("Dr Invited", "perovskite solar cells", 8)]:
        r = f.reviewer(cn, name=name, affiliation=f"{name} Institute")
        profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=r.id))
        profile.keywords, profile.max_load = keywords, max_load
        people[name] = r
    # Dr Perovskite already carries two open reviews elsewhere; Dr Invited is on this proposal.
    other = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                       state=ProposalState.in_review, title="Other")
    f.assignment(other, people["Dr Perovskite"], state=AssignmentState.invited, no_conflict=False)
    f.assignment(f.proposal(call, f.user(Role.researcher, agency=cn), state=ProposalState.in_review,
                            title="Third"), people["Dr Perovskite"])
    f.assignment(p, people["Dr Invited"], state=AssignmentState.declined, no_conflict=False)
    # Same institution as the CN PI's: a conflict, not offered.
    f.reviewer(cn, name="Dr Colleague", affiliation="Tsinghua University")
    staff = f.user(Role.staff, agency=cn)
    db.session.flush()
    return p, people, staff


def test_the_pool_is_offered_by_affinity_with_the_load_of_each(client):
    p, people, staff = scene()
    f.login(client, staff)
    page = client.get(f"/reviews/assign/{p.id}").data.decode()
    offered = page[page.index('id="candidates"'):]
    offered = offered[:offered.index("</table>")]
    order = [offered.index(name) for name in ("Dr Perovskite", "Dr Solar", "Dr Medieval")]
    assert order == sorted(order)
    # Already on the proposal (even declined): not offered again; with a conflict: not offered.
    assert "Dr Invited" not in offered and "Dr Colleague" not in offered
    assert "Tsinghua University" in page  # the reason the colleague is left out
    # The load: open reviews against the maximum.
    row = offered[offered.index("Dr Perovskite"):]
    row = row[:row.index("</tr>")]
    assert "2 / 3" in row
    assert f'name="reviewer_id" value="{people["Dr Perovskite"].id}"' in row
    # Affinity shown, from 0 to 1.
    assert "0." in row


def test_inviting_from_the_list(client):
    p, people, staff = scene()
    f.login(client, staff)
    page = client.get(f"/reviews/assign/{p.id}").data.decode()
    due = page.split('name="due_at"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/reviews/assign/{p.id}", data={"due_at": due,
                                                             "reviewer_id": people["Dr Solar"].id})
    assert response.status_code == 302
    page = client.get(f"/reviews/assign/{p.id}").data.decode()
    offered = page[page.index('id="candidates"'):]
    assert "Dr Solar" not in offered[:offered.index("</table>")]
