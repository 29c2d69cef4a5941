"""Team members, trips and budget lines: rows are added and removed in the page (a row
template and a few lines of JavaScript), the server takes any number of rows with any
indices, and every input of every row has a label."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests.proposals.browser import form_data


@pytest.fixture
def draft(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    pi = f.user(Role.researcher, agency=cn)
    proposal = f.proposal(call, pi, f.user(Role.researcher, agency=be), amounts=("0", "0"))
    db.session.commit()
    return proposal, cn, be, pi


class _Controls(HTMLParser):
    """The form's controls (inside row templates too) and the ids its labels are for."""

    def __init__(self):
        super().__init__()
        self.inside, self.controls, self.labelled = False, [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "proposal-editor":
            self.inside = True
        if not self.inside:
            return
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a.get("id") or a.get("name"))
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def test_every_input_of_every_row_has_a_label(draft, client):
    proposal, _cn, _be, pi = draft
    f.login(client, pi)
    for url in (f"/proposals/{proposal.id}/edit", f"/proposals/new/{proposal.call_id}"):
        controls = _Controls()
        controls.feed(client.get(url).data.decode())
        assert any(c.startswith("members-__index__-") for c in controls.controls)  # the row templates
        unlabelled = [c for c in controls.controls if c not in controls.labelled]
        assert not unlabelled, (url, unlabelled)


def test_the_page_offers_to_add_and_remove_rows(draft, client):
    proposal, _cn, _be, pi = draft
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    for rows in ("members", "trips", "budget_lines"):
        assert f'<template id="{rows}-row">' in page
        assert f'data-add-row="{rows}"' in page
    assert page.count("data-remove-row") >= 3
    assert "/static/editor_rows.js" in page


def _set(data, values: dict) -> None:
    for key, value in values.items():
        data[key] = value  # replaces what the page had (MultiDict.update would add)


def test_the_server_takes_any_number_of_rows_with_gaps_in_their_indices(draft, client):
    """Rows added in the page get new indices; removed ones leave gaps."""
    proposal, cn, be, pi = draft
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    data = form_data(page, "proposal-editor")
    for n, index in enumerate([0, 3, 4, 9, 10, 11, 12, 13, 20, 31, 32, 40]):
        _set(data, {f"members-{index}-agency_id": str(cn.id if n % 2 else be.id),
                     f"members-{index}-name": f"Member {n}", f"members-{index}-role": "researcher",
                     f"members-{index}-career_stage": "postdoc", f"members-{index}-affiliation": "ULB"})
    for n, index in enumerate([1, 2, 7, 8, 15, 16, 17]):
        _set(data, {f"trips-{index}-direction": f"{cn.id}-{be.id}", f"trips-{index}-traveller": f"T{n}",
                     f"trips-{index}-days": str(n + 1), f"trips-{index}-year": "1"})
    for n, index in enumerate(range(5, 50, 3)):
        _set(data, {f"budget_lines-{index}-agency_id": str(be.id), f"budget_lines-{index}-year": "2",
                     f"budget_lines-{index}-category": "equipment", f"budget_lines-{index}-amount": str(n + 1)})
    response = client.post(f"/proposals/{proposal.id}/edit", data=data)
    assert response.status_code == 302, response.data.decode()[:2000]
    db.session.refresh(proposal)
    assert [m.name for m in proposal.members] == [f"Member {n}" for n in range(12)]
    assert [t.traveller for t in proposal.trips] == [f"T{n}" for n in range(7)]
    assert sorted(b.amount for b in proposal.budget_lines) == list(range(1, 16))


def test_a_row_added_in_the_page_follows_the_last_index(draft, client):
    proposal, _cn, _be, pi = draft
    f.login(client, pi)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    indices = {int(i) for i in re.findall(r'name="members-(\d+)-name"', page)}
    next_index = int(re.search(r'id="members-rows" data-next-index="(\d+)"', page).group(1))
    assert next_index == max(indices) + 1
