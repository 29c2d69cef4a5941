"""Defect 8 of issue 9: no input answers 500.

Walks every route of `app.url_map`: each integer in a path gets a value above
2^63, or just above what an INTEGER id holds (no object has such an id: 404), each page that takes no id is asked for
huge, negative and garbage page numbers and ids in its query string, as an
admin and anonymously. CSRF is off in the tests, so POSTs reach their views."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from werkzeug.routing import IntegerConverter

from cfp.core.roles import Role
from tests import factories as f

HUGE = 99999999999999999999  # above 2^64, let alone 2^63
JUST_ABOVE = 2**63  # one more than a BIGINT holds
ABOVE_INTEGER = 2**31  # one more than an INTEGER (every id) holds
BAD_NUMBERS = [str(HUGE), str(JUST_ABOVE), str(ABOVE_INTEGER), "-1", "-99999999999999999999", "0", "abc", "1e999",
               "1_000", " 7 ", "", "\x00"]
QUERY_INTS = ("page", "per_page", "id", "call", "a", "b", "v")  # every int a view reads from a query


def int_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, IntegerConverter) for c in rule._converters.values())]


def methods(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def urls_with_a_huge_id(rule):
    """URLs with one integer argument of `rule` out of range (the others at 1)."""
    ints = [name for name, c in rule._converters.items() if isinstance(c, IntegerConverter)]
    for big in ints:
        for value in (HUGE, JUST_ABOVE, ABOVE_INTEGER):
            parts = rule.rule
            for name in rule.arguments:
                parts = parts.replace(f"<int:{name}>", str(value if name == big else 1))
                parts = parts.replace(f"<{name}>", "x")
            yield parts


@pytest.fixture
def admin():
    f.world()
    return f.user(Role.admin, name="Administrator")


def ask(client, method, url, data=None):
    response = client.open(url, method=method, data=data or {})
    assert response.status_code < 500, (method, url, response.status_code)
    return response


@pytest.mark.parametrize("who", ["anon", "admin"])
def test_every_route_answers_404_to_an_id_above_2_63(app, client, admin, who):
    if who == "admin":
        f.login(client, admin)
    rules = int_rules(app)
    assert len(rules) > 50  # the walk did find the routes
    for rule in rules:
        for url in urls_with_a_huge_id(rule):
            for method in methods(rule):
                assert ask(client, method, url).status_code == 404, (method, url)


@pytest.mark.parametrize("who", ["anon", "admin"])
def test_every_route_with_a_text_argument_survives_odd_text(app, client, admin, who):
    if who == "admin":
        f.login(client, admin)
    rules = [rule for rule in app.url_map.iter_rules() if rule.arguments
             and not any(isinstance(c, IntegerConverter) for c in rule._converters.values())]
    assert len(rules) >= 4
    for rule in rules:
        for text in ("%00", "%0A", "x" * 5000, "..%2F..%2Fetc%2Fpasswd", "%F0%9F%92%A5", "%FF"):
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<{name}>", text).replace(f"<path:{name}>", text)
            for method in methods(rule):
                ask(client, method, url)


@pytest.mark.parametrize("value", [2**63 - 1, 2**31, 2**31 - 1])
def test_an_id_at_the_edge_of_the_database_types_is_a_plain_404(client, admin, value):
    f.login(client, admin)
    assert client.get(f"/proposals/{value}").status_code == 404
    assert client.get(f"/mail/{value}").status_code == 404


def test_the_example_of_the_issue(client, admin):
    assert client.get("/proposals/99999999999999999999").status_code == 404
    f.login(client, admin)
    assert client.get("/proposals/99999999999999999999").status_code == 404
    assert client.get("/mail?page=99999999999999999999").status_code == 404


@pytest.mark.parametrize("who", ["anon", "admin"])
def test_no_page_answers_500_to_bad_numbers_in_its_query(app, client, admin, who):
    if who == "admin":
        f.login(client, admin)
    pages = [rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments]
    assert len(pages) > 10
    for rule in pages:
        for value in BAD_NUMBERS:
            for name in QUERY_INTS:
                ask(client, "GET", f"{rule.rule}?{urlencode({name: value})}")
            ask(client, "GET", f"{rule.rule}?{urlencode(dict.fromkeys(QUERY_INTS, value))}")


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_a_list_page_answers_a_bad_page_number_with_404(client, admin, value):
    f.login(client, admin)
    response = client.get(f"/audit?{urlencode({'page': value})}")
    assert response.status_code in (200, 404)
    if value in (str(HUGE), str(JUST_ABOVE), "-99999999999999999999", "abc", "1e999"):
        assert response.status_code == 404


def test_pages_that_read_ids_from_the_query_or_the_form_answer_bad_ones(client):
    cn, be, committee = f.world()
    pi, partner = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    staff = f.user(Role.staff, agency=cn)
    secretariat = f.user(Role.secretariat)
    call = f.call(committee)
    proposal = f.proposal(call, pi, partner)
    job = f.job(staff, kind="assignment")
    f.login(client, pi)
    for value in BAD_NUMBERS:
        ask(client, "GET", f"/proposals/{proposal.id}/history?{urlencode({'a': value, 'b': value})}")
    client.post("/logout")
    f.login(client, staff)
    for value in BAD_NUMBERS:
        ask(client, "GET", f"/proposals/staff?{urlencode({'call': value})}")
        ask(client, "POST", f"/reviews/automatic/jobs/{job.id}/pairs",
            {"proposal_id": value, "reviewer_id": value, "action": "add"})
    client.post("/logout")
    f.login(client, secretariat)
    for value in BAD_NUMBERS:
        assert ask(client, "GET", f"/selection/calls/{call.id}/scenarios?"
                                  f"{urlencode({'v': value})}").status_code == 200


@pytest.mark.parametrize("target", ["\n", "/\n", "/a\r\nSet-Cookie: x=1", "%0A"])
def test_a_newline_in_next_is_no_500(client, admin, target):
    ask(client, "GET", f"/login?{urlencode({'next': target})}")
    response = client.post(f"/login?{urlencode({'next': target})}",
                           data={"email": admin.email, "password": f.PASSWORD})
    assert response.status_code == 302 and "\n" not in response.location
