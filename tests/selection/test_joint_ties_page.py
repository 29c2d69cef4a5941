"""The joint ranking shows the ties of the rows on its page (each whole), and counts the
others: a call with thousands of proposals has many ties, and the page stays one page."""
from __future__ import annotations

from cfp.core.roles import Role
from cfp.proposals.models import ProposalState
from tests import factories as f


def test_the_page_shows_its_own_rows_ties_and_counts_the_others(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    cn, be, committee = f.world()
    call = f.call(committee)
    pi = f.user(Role.researcher, agency=cn)
    for score, names in (("4.0", "AB"), ("3.0", "CD"), ("2.0", "EF")):
        for name in names:
            p = f.proposal(call, pi, f.user(Role.researcher, agency=be), state=ProposalState.reviewed,
                           title=f"Proposal {name}")
            p.reference = f"REF-{name}"
            f.ranking_entry(call, cn, p, score)
            f.ranking_entry(call, be, p, score)
    f.login(client, f.user(Role.secretariat))

    page = client.get(f"/selection/joint/{call.id}").get_data(as_text=True)
    ties = page[page.index(">Ties<"):]
    assert "REF-A, REF-B" in ties  # the tie of this page's two rows, whole
    assert "REF-C" not in ties and "REF-E" not in ties
    assert "2 other ties are on other pages" in ties
