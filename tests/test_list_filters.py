"""Search, sort and filters on the lists staff work from (issue 15): the right rows in the
right order, the query string checked, the other arguments kept, and permissions as before
(the list's scope comes first; a filter never widens it)."""
from __future__ import annotations

import re

import pytest

from cfp.core.audit import log_action
from cfp.core.outbox import MessageStatus
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState
from tests import factories as f


def _text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _order(page: str, names: list[str]) -> list[str]:
    """The names that appear on the page, in the order they appear."""
    found = sorted((page.index(n), n) for n in names if n in page)
    return [n for _i, n in found]


@pytest.fixture
def staff_world():
    cn, be, committee = f.world()
    call = f.call(committee)
    staff = f.user(Role.staff, agency=cn)
    pi_a, pi_b = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    proposals = {}
    for title, state in (("Bravo soils", ProposalState.in_review), ("Alpha lasers", ProposalState.eligible),
                         ("Charlie lasers", ProposalState.in_review)):
        proposals[title] = f.proposal(call, pi_a, pi_b, state=state, title=title)
    db.session.commit()
    return {"cn": cn, "be": be, "call": call, "staff": staff, "proposals": proposals, "committee": committee}


def test_the_staffs_proposals_are_searched_sorted_and_filtered(client, staff_world):
    f.login(client, staff_world["staff"])
    titles = ["Alpha lasers", "Bravo soils", "Charlie lasers"]
    page = _text(client, "/proposals/staff?sort=-title")
    assert _order(page, titles) == ["Charlie lasers", "Bravo soils", "Alpha lasers"]
    assert 'aria-sort="descending"' in page
    page = _text(client, "/proposals/staff?sort=title")
    assert _order(page, titles) == titles and 'aria-sort="ascending"' in page
    # the header now sorts the other way, keeping the search and filters
    page = _text(client, "/proposals/staff?sort=title&q=lasers&state=in_review")
    assert _order(page, titles) == ["Charlie lasers"]
    assert re.search(r'href="/proposals/staff\?[^"]*sort=-title', page)
    assert "q=lasers" in re.search(r'href="(/proposals/staff\?[^"]*sort=-title[^"]*)"', page).group(1)
    page = _text(client, "/proposals/staff?q=LASERS")
    assert _order(page, titles) == ["Alpha lasers", "Charlie lasers"]
    assert _order(_text(client, "/proposals/staff?q=100%25"), titles) == []  # % is a character, not a wildcard


@pytest.mark.parametrize("args", ["sort=nonsense", "sort=-password_hash", "state=draft", "state=xyz",
                                  "eligibility=maybe", "call=999999"])
def test_an_unknown_sort_key_or_filter_value_is_a_400_that_says_why(client, staff_world, args):
    f.login(client, staff_world["staff"])
    response = client.get(f"/proposals/staff?{args}")
    assert response.status_code == 400
    assert "Unknown" in response.get_data(as_text=True)


def test_filters_never_widen_what_a_role_may_see(client, staff_world):
    researcher = f.user(Role.researcher, agency=staff_world["cn"])
    f.login(client, researcher)
    assert client.get("/proposals/staff?q=lasers").status_code == 403
    assert client.get("/reviews/assignments?state=invited").status_code == 403
    # Staff of another committee: the call is not among the filter's choices (400), no rows.
    from tests.test_committee_scope import _committee_b

    other_committee = _committee_b(staff_world["cn"])
    outsider = f.user(agency=staff_world["cn"])
    outsider.grant(Role.staff, staff_world["cn"], other_committee)
    db.session.commit()
    client.post("/logout")
    f.login(client, outsider)
    assert client.get(f"/proposals/staff?call={staff_world['call'].id}").status_code == 400
    assert "Alpha lasers" not in _text(client, "/proposals/staff?q=lasers")


def test_the_eligibility_filter_reads_my_sides_check(client, staff_world):
    from cfp.proposals.models import EligibilityCheck, EligibilityStatus

    alpha = staff_world["proposals"]["Alpha lasers"]
    for check in db.session.query(EligibilityCheck):
        mine = check.agency_id == staff_world["cn"].id
        check.status = EligibilityStatus.pending if mine and check.proposal_id != alpha.id else EligibilityStatus.eligible
    db.session.commit()
    f.login(client, staff_world["staff"])
    titles = list(staff_world["proposals"])
    assert _order(_text(client, "/proposals/staff?eligibility=eligible"), titles) == ["Alpha lasers"]
    assert _order(_text(client, "/proposals/staff?eligibility=pending&sort=title"), titles) == [
        "Bravo soils", "Charlie lasers"]


def test_assignments_pool_and_side_ranking(client, staff_world):
    cn, be, call = staff_world["cn"], staff_world["be"], staff_world["call"]
    bravo, alpha = staff_world["proposals"]["Bravo soils"], staff_world["proposals"]["Alpha lasers"]
    zed, amy = f.reviewer(cn, name="Zed Reviewer"), f.reviewer(cn, name="Amy Reviewer")
    other_side = f.reviewer(be, name="Belgian Reviewer")
    f.assignment(bravo, zed, state=AssignmentState.invited)
    f.assignment(alpha, amy, state=AssignmentState.submitted)
    f.assignment(alpha, other_side, state=AssignmentState.invited)
    f.ranking_entry(call, cn, bravo, "4.5", rank=1)
    f.ranking_entry(call, cn, alpha, "2.0", rank=2, passed=False)
    db.session.commit()
    f.login(client, staff_world["staff"])
    names = ["Zed Reviewer", "Amy Reviewer", "Belgian Reviewer"]
    page = _text(client, "/reviews/assignments?sort=reviewer")
    assert _order(page, names) == ["Amy Reviewer", "Zed Reviewer"]  # the other side's never shown
    assert _order(_text(client, "/reviews/assignments?sort=-reviewer"), names) == ["Zed Reviewer", "Amy Reviewer"]
    assert _order(_text(client, "/reviews/assignments?state=invited"), names) == ["Zed Reviewer"]
    assert _order(_text(client, f"/reviews/assignments?side={cn.id}&q=amy"), names) == ["Amy Reviewer"]
    assert client.get(f"/reviews/assignments?side={be.id}").status_code == 400  # not their side
    # the pool: by name, by open load
    pool = _text(client, f"/reviews/pool/{cn.id}?sort=-name")
    assert _order(pool, names) == ["Zed Reviewer", "Amy Reviewer"]
    assert _order(_text(client, f"/reviews/pool/{cn.id}?sort=-load"), names) == ["Zed Reviewer", "Amy Reviewer"]
    assert _order(_text(client, f"/reviews/pool/{cn.id}?q=zed"), names) == ["Zed Reviewer"]
    # a side's ranking: by score, and only those that pass
    titles = ["Bravo soils", "Alpha lasers"]
    assert _order(_text(client, f"/reviews/ranking/{call.id}?sort=score"), titles) == ["Alpha lasers", "Bravo soils"]
    assert _order(_text(client, f"/reviews/ranking/{call.id}?passed=yes"), titles) == ["Bravo soils"]


def test_mail_and_audit_log(client, staff_world):
    admin = f.user(Role.admin)
    for subject, status in (("Zulu", MessageStatus.sent), ("Alpha", MessageStatus.failed), ("Mike", MessageStatus.sent)):
        f.outbox_message(admin, subject=f"{subject} subject", status=status)
    log_action(admin, "zebra.moved", staff_world["call"])
    log_action(admin, "antelope.moved", staff_world["proposals"]["Alpha lasers"])
    db.session.commit()
    f.login(client, admin)
    subjects = ["Zulu subject", "Alpha subject", "Mike subject"]
    assert _order(_text(client, "/mail?sort=subject"), subjects) == ["Alpha subject", "Mike subject", "Zulu subject"]
    assert _order(_text(client, "/mail"), subjects) == ["Mike subject", "Alpha subject", "Zulu subject"]  # newest first
    assert _order(_text(client, "/mail?status=failed"), subjects) == ["Alpha subject"]
    assert _order(_text(client, "/mail?q=zulu"), subjects) == ["Zulu subject"]
    actions = ["zebra.moved", "antelope.moved"]
    assert _order(_text(client, "/audit?sort=action"), actions) == ["antelope.moved", "zebra.moved"]
    assert _order(_text(client, "/audit?type=Call"), actions) == ["zebra.moved"]
    assert _order(_text(client, "/audit?q=antel"), actions) == ["antelope.moved"]


def test_joint_ranking_and_projects(client, staff_world):
    cn, be, call = staff_world["cn"], staff_world["be"], staff_world["call"]
    bravo, alpha = staff_world["proposals"]["Bravo soils"], staff_world["proposals"]["Alpha lasers"]
    for p, cn_score, be_score, be_passes in ((bravo, "4.5", "4.0", True), (alpha, "3.0", "4.9", False)):
        f.ranking_entry(call, cn, p, cn_score)
        f.ranking_entry(call, be, p, be_score, passed=be_passes)
    secretariat = f.user(Role.secretariat)
    db.session.commit()
    f.login(client, secretariat)
    titles = ["Bravo soils", "Alpha lasers"]
    refs = {p.reference: p.title for p in (bravo, alpha)}
    page = _text(client, f"/selection/joint/{call.id}")
    shown = re.findall(r'<td class="place">(\d+)</td>', page)
    assert shown == ["1", "2"]
    assert '<main class="container-fluid' in page  # wide: the outcome controls are never cut off
    page = _text(client, f"/selection/joint/{call.id}?sort=-score-wbi")
    assert re.findall(r'<td class="place">(\d+)</td>', page) == ["2", "1"]  # each keeps its place
    page = _text(client, f"/selection/joint/{call.id}?passes=no")
    assert re.findall(r'<td class="place">(\d+)</td>', page) == ["2"]
    page = _text(client, f"/selection/joint/{call.id}?veto=wbi&q=alpha")
    assert re.findall(r'<td class="place">(\d+)</td>', page) == ["2"]
    assert client.get(f"/selection/joint/{call.id}?sort=score-xx").status_code == 400
    assert refs and titles
