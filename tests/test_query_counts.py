"""List pages run a bounded number of queries, whatever the number of rows."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.operations import compute_side_ranking, save_review
from tests import factories as f


@contextlib.contextmanager
def count_queries():
    counter = {"n": 0}
    engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):
            counter["n"] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _world():
    cn, _be, committee = f.world()
    call = f.call(committee)
    users = {
        "staff": f.user(Role.staff, agency=cn),
        "secretariat": f.user(Role.secretariat),
        "researcher": f.user(Role.researcher, agency=cn),
        "admin": f.user(Role.admin),
    }
    return call, users


def _add_reviewed_proposals(call, researcher, n: int) -> None:
    cn, be = call.agencies
    for i in range(n):
        pi_b = f.user(Role.researcher, agency=be)
        p = f.proposal(call, researcher, pi_b, state=ProposalState.in_review, title=f"Proposal {i}")
        for agency in (cn, be):
            rev = f.reviewer(agency)
            a = f.assignment(p, rev)
            save_review(rev, a, {c.id: 4 for c in call.criteria}, "Good.", "", None, submit=True)
    for agency in (cn, be):
        compute_side_ranking(call.id, agency.id)
    db.session.commit()


PAGES = [
    ("staff", "/proposals/staff"),
    ("staff", "/reviews/staff"),
    ("staff", "/reviews/ranking/{call}"),
    ("secretariat", "/selection/joint/{call}"),
    ("researcher", "/proposals/mine"),
    ("staff", "/calls/"),
    ("secretariat", "/audit"),
    ("admin", "/mail"),
    ("secretariat", "/selection/calls/{call}/scenarios"),
]


@pytest.mark.parametrize("who, url", PAGES)
def test_list_pages_do_not_run_one_query_per_row(client, who, url):
    call, users = _world()
    f.login(client, users[who])
    counts = []
    for n in (2, 6):
        _add_reviewed_proposals(call, users["researcher"], n)
        with count_queries() as counter:
            response = client.get(url.format(call=call.id))
        assert response.status_code == 200
        counts.append(counter["n"])
    assert counts[0] == counts[1], f"{url}: {counts[0]} queries with 2 rows, {counts[1]} with 8"
