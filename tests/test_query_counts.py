"""List pages run a bounded number of queries, whatever the number of rows, and show
one page of rows at a time (issue 12)."""
from __future__ import annotations

import contextlib
import html
import itertools
import re
from decimal import Decimal

import pytest
from sqlalchemy import event

from cfp.calls.models import CallState
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.meetings.models import DecisionState
from cfp.projects.models import ProjectAllocation
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState
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


def _world() -> dict:
    cn, be, committee = f.world()
    call = f.call(committee)
    users = {
        "staff": f.user(Role.staff, agency=cn),
        "secretariat": f.user(Role.secretariat),
        "researcher": f.user(Role.researcher, agency=cn),
        "reviewer": f.reviewer(cn),
        "admin": f.user(Role.admin),
    }
    return {"call": call, "cn": cn, "be": be, "committee": committee, "users": users,
            "numbers": itertools.count(1)}


def _grow(w: dict, n: int) -> None:
    """n more rows on every list page: reviewed proposals (with their reviews, audit
    entries and mail), drafts, pool reviewers, closed calls, meetings, adopted projects,
    project lists and one review invitation each for the same reviewer."""
    call, cn, be, users = w["call"], w["cn"], w["be"], w["users"]
    for _i in range(n):
        number = next(w["numbers"])
        pi_b = f.user(Role.researcher, agency=be)
        p = f.proposal(call, users["researcher"], pi_b, state=ProposalState.in_review, title=f"Proposal {number}")
        for agency in (cn, be):
            rev = f.reviewer(agency)
            save_review(rev, f.assignment(p, rev), {c.id: 4 for c in call.criteria}, "Good.", "", None, submit=True)
        f.assignment(p, users["reviewer"], state=AssignmentState.invited)
        f.proposal(call, users["researcher"], title=f"Draft {number}")
        f.call(w["committee"], state=CallState.closed)
        meeting = f.meeting(w["committee"], number=number + 10)
        decision = f.decision(meeting)
        decision.state = DecisionState.adopted
        plist = f.project_list(call, [p], version=number)
        project = f.project(plist, decision, p)
        db.session.add(ProjectAllocation(project=project, agency_id=cn.id, year=1,
                                         amount=Decimal(1000), currency="CNY"))
        f.outbox_message(users["admin"], subject=f"Message {number}")
    for agency in (cn, be):
        compute_side_ranking(call.id, agency.id)
    db.session.commit()


# Every page that lists rows which grow with the data, and who looks at it.
PAGES = [
    ("staff", "/proposals/staff"),
    ("staff", "/proposals/extensions"),
    ("staff", "/reviews/staff"),
    ("staff", "/reviews/ranking/{call}"),
    ("staff", "/reviews/dashboard/{call}/{cn}"),
    ("staff", "/reviews/pool/{cn}"),
    ("staff", "/reviews/assignments"),
    ("staff", "/calls/"),
    ("staff", "/projects/dashboard"),
    ("secretariat", "/selection/joint"),
    ("secretariat", "/selection/joint/{call}"),
    ("secretariat", "/meetings"),
    ("secretariat", "/audit"),
    ("secretariat", "/selection/calls/{call}/scenarios"),
    ("researcher", "/proposals/mine"),
    ("reviewer", "/reviews/mine"),
    ("admin", "/mail"),
    ("anonymous", "/projects/adopted"),
    # Sorted, searched and filtered (issue 15): the same bounded queries, and keyset lists
    # sorted by another column still page by cursor.
    ("staff", "/proposals/staff?sort=-title&q=proposal"),
    ("staff", "/reviews/pool/{cn}?sort=-load"),
    ("staff", "/reviews/assignments?sort=reviewer&state=submitted"),
    ("staff", "/reviews/ranking/{call}?sort=-score"),
    ("staff", "/projects/dashboard?sort=-title&status=active"),
    ("secretariat", "/selection/joint/{call}?sort=-combined&q=proposal"),
    ("secretariat", "/audit?sort=action"),
    ("admin", "/mail?sort=to&q=message"),
]
# Not cut into pages: the versions of one call's project list, compared side by side (a few).
UNPAGED = {"/selection/calls/{call}/scenarios"}


def _url(w: dict, url: str) -> str:
    return url.format(call=w["call"].id, cn=w["cn"].id)


def _get(client, url: str):
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response, counter["n"]


def _link(response, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize("who, url", PAGES)
def test_list_pages_do_not_run_one_query_per_row(client, who, url):
    w = _world()
    if who != "anonymous":
        f.login(client, w["users"][who])
    counts = []
    for n in (2, 6):
        _grow(w, n)
        counts.append(_get(client, _url(w, url))[1])
    assert counts[0] == counts[1], f"{url}: {counts[0]} queries with 2 rows, {counts[1]} with 8"


@pytest.mark.parametrize("who, url", [(who, url) for who, url in PAGES if url not in UNPAGED])
def test_a_page_runs_the_same_queries_for_one_page_of_rows_or_two(app, client, monkeypatch, who, url):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    w = _world()
    if who != "anonymous":
        f.login(client, w["users"][who])
    _grow(w, 6)
    _response, with_6 = _get(client, _url(w, url))
    _grow(w, 6)
    response, with_12 = _get(client, _url(w, url))
    assert with_6 == with_12, f"{url}: {with_6} queries with 6 rows, {with_12} with 12"
    following = _link(response, "next")
    assert following, f"{url}: 12 rows at 5 a page and no link to the next page"
    after, on_next = _get(client, following)
    # Fewer is no growth: the joint ranking's next page finds the order already computed.
    assert on_next <= with_12, f"{url}: {with_12} queries on the first page, {on_next} on the next"
    assert _link(after, "prev"), f"{url}: no way back from the second page"


def test_a_page_shows_page_size_rows_and_the_joint_ranking_keeps_each_rows_place(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    w = _world()
    _grow(w, 12)
    f.login(client, w["users"]["secretariat"])
    first = client.get(_url(w, "/selection/joint/{call}")).get_data(as_text=True)
    assert re.findall(r'<td class="place">(\d+)</td>', first) == ["1", "2", "3", "4", "5"]
    assert "page 1 of 3" in first
    third = client.get(_url(w, "/selection/joint/{call}?page=3")).get_data(as_text=True)
    assert re.findall(r'<td class="place">(\d+)</td>', third) == ["11", "12"]
    assert client.get(_url(w, "/selection/joint/{call}?page=4")).status_code == 404
    staff = app.test_client()
    f.login(staff, w["users"]["staff"])
    second = staff.get(_url(w, "/reviews/ranking/{call}?page=2")).get_data(as_text=True)
    assert "page 2 of 3" in second


def _walk(client, url: str, pattern: str, rel: str = "next") -> list[int]:
    """Every id on every page, following the `rel` links from `url`."""
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        seen += [int(i) for i in re.findall(pattern, response.get_data(as_text=True))]
        url, pages = _link(response, rel), pages + 1
        assert pages < 20
    return seen


@pytest.mark.parametrize("who, url, pattern", [
    ("staff", "/proposals/staff", r'href="/proposals/(\d+)"'),
    ("staff", "/proposals/staff?sort=-title", r'href="/proposals/(\d+)"'),
    ("admin", "/mail", r'href="/mail/(\d+)"'),
    ("admin", "/mail?sort=subject", r'href="/mail/(\d+)"'),
])
def test_paging_through_a_keyset_list_shows_every_row_once(app, client, monkeypatch, who, url, pattern):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    w = _world()
    _grow(w, 12)
    f.login(client, w["users"][who])
    whole = _walk(client, url + ("&" if "?" in url else "?") + "per_page=200", pattern)
    forward = _walk(client, url, pattern)
    assert len(whole) >= 12 and forward == whole
    assert len(set(forward)) == len(forward)
    # and back: from the last page, the previous links visit the same rows
    last = client.get(url)
    while _link(last, "next"):
        last = client.get(_link(last, "next"))
    back = _walk(client, _link(last, "prev"), pattern, rel="prev")
    last_rows = [int(i) for i in re.findall(pattern, last.get_data(as_text=True))]
    assert sorted(back + last_rows) == sorted(whole)
