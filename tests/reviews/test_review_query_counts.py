"""The review list pages (pool, dashboard, automatic preview) run a bounded number of
queries whatever the number of rows."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.core.jobs import Job
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from tests import factories as f
from tests.reviews.test_mirror_review import submitted_review
from tests.test_query_counts import count_queries


def grow(call, cn, be, n):
    for i in range(n):
        p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                       state=ProposalState.in_review, title=f"Proposal {i}")
        submitted_review(f.assignment(p, f.reviewer(cn)), "3.5", "x")
        f.assignment(p, f.reviewer(cn))
    db.session.flush()


def test_pool_dashboard_and_preview_do_not_grow_with_rows(client):
    cn, be, committee = f.world()
    call = f.call(committee)
    staff = f.user(Role.staff, agency=cn)
    f.login(client, staff)
    pages = [f"/reviews/pool/{cn.id}", f"/reviews/dashboard/{call.id}/{cn.id}", "/reviews/staff"]
    counts = []
    for n in (2, 8):
        grow(call, cn, be, n)
        client.post(f"/reviews/automatic/{call.id}/{cn.id}")
        job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
        row = []
        for page in [*pages, f"/reviews/automatic/jobs/{job.id}"]:
            with count_queries() as counter:
                assert client.get(page).status_code == 200, page
            row.append(counter["n"])
        counts.append(row)
    assert counts[0] == counts[1], counts
