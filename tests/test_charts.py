"""The charts drawn on the server (cfp/core/charts.py, templates/charts.html): the score
distribution of a side's review dashboard and both sides' scores on the joint ranking,
each an SVG with axis titles, a <title>, a <desc> and an aria-label, marks told apart by
shape as well as colour, and the joint ranking's in at most one more query."""
from __future__ import annotations

import re
from decimal import Decimal

from cfp.core.charts import histogram, scatter, ticks
from cfp.core.roles import Role
from cfp.proposals.models import ProposalState
from tests import factories as f
from tests.test_query_counts import count_queries


def test_ticks_are_round_values_within_the_range():
    assert ticks(0, 5) == [0, 1, 2, 3, 4, 5]
    assert ticks(0, 10, 6) == [0, 2, 4, 6, 8, 10]
    assert ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert ticks(3, 3) == [3]


def test_a_histogram_puts_the_tallest_bar_under_the_top_tick():
    chart = histogram([(Decimal("1.0"), 2), (Decimal("1.5"), 0), (Decimal("2.0"), 5)], label=str)
    tall = chart.bars[2]
    assert tall.height > chart.bars[0].height > chart.bars[1].height == 0
    assert chart.total == 7 and chart.pairs == ["1.0: 2", "1.5: 0", "2.0: 5"]
    assert [text for _y, text in chart.y_ticks] == ["0", "1", "2", "3", "4", "5"]
    assert tall.y == chart.plot[1]  # the top of the plot
    many = histogram([("a", 7), ("b", 13)])
    assert [text for _y, text in many.y_ticks] == ["0", "5", "10", "15"]


def test_a_scatter_places_threshold_lines_and_merges_marks_on_one_spot():
    pairs = [("A", Decimal(4), Decimal(4), True), ("B", Decimal("4.001"), Decimal(4), True),
             ("C", Decimal(1), Decimal("4.5"), False), ("D", None, Decimal(3), False)]
    chart = scatter(pairs, Decimal(0), Decimal(5), Decimal("2.5"))
    assert (chart.forward, chart.vetoed, chart.unscored) == (2, 1, 1)
    merged = [p for p in chart.points if p.forward]
    assert len(merged) == 1 and merged[0].references == ["A", "B"]
    left, top, right, bottom = chart.plot
    x, y = chart.threshold
    assert x == (left + right) / 2 and y == (top + bottom) / 2
    assert scatter(pairs, Decimal(0), Decimal(5), None).threshold is None


def _svg(page: str, id: str) -> str:
    start = page.index(f'id="{id}"')
    return page[start:page.index("</svg>", start)]


def test_the_review_dashboard_chart_has_axis_titles_and_a_text_alternative(client):
    from tests.reviews.test_dashboard import scene

    call, cn, _a, _b = scene()
    f.login(client, f.user(Role.staff, agency=cn))
    svg = _svg(client.get(f"/reviews/dashboard/{call.id}/{cn.id}").get_data(as_text=True), "score-chart")
    assert 'role="img"' in svg and 'aria-label="Distribution of the weighted scores of' in svg
    assert "<title" in svg and 'aria-describedby="score-chart-desc"' in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg, re.DOTALL).group(1)
    assert desc.startswith("Submitted reviews per weighted score:") and "4.5: 1" in desc
    assert ">Weighted score</text>" in svg and ">Number of reviews</text>" in svg


def _joint_scene():
    cn, be, committee = f.world()
    call = f.call(committee, overall_threshold="3")
    pi = f.user(Role.researcher, agency=cn)
    for name, a, b, passed in (("A", "4.0", "3.5", True), ("B", "3.2", "2.0", False), ("C", "2.5", "4.5", False)):
        p = f.proposal(call, pi, f.user(Role.researcher, agency=be), state=ProposalState.reviewed, title=name)
        p.reference = f"REF-{name}"
        f.ranking_entry(call, cn, p, a, passed=True)
        f.ranking_entry(call, be, p, b, passed=passed)
    return call, cn, be


def test_the_joint_ranking_draws_both_sides_scores_with_the_thresholds(client):
    call, cn, be = _joint_scene()
    f.login(client, f.user(Role.secretariat))
    svg = _svg(client.get(f"/selection/joint/{call.id}").get_data(as_text=True), "joint-chart")
    assert f'aria-label="Mean score of each proposal from {cn.short_name} and from {be.short_name}"' in svg
    assert f">Mean score from {cn.short_name}</text>" in svg and f">Mean score from {be.short_name}</text>" in svg
    assert svg.count('class="threshold"') == 2 and "overall threshold (3)" in svg
    # Going forward: a disc; vetoed: a cross (a path), each named by its proposal.
    assert svg.count('class="point forward"') == 1 and svg.count('class="point vetoed"') == 2
    assert "<title>REF-A — " in svg and "(goes forward)" in svg and "(vetoed)" in svg
    assert "1 proposals go forward (discs), 2 are vetoed by a side (crosses)" in svg


def test_the_joint_chart_costs_at_most_one_query(client, monkeypatch):
    """Drawn from the joint order the page computed already (and kept with it): the page
    without the chart runs at most one query fewer."""
    from cfp.selection import views

    call, _cn, _be = _joint_scene()
    f.login(client, f.user(Role.secretariat))
    url = f"/selection/joint/{call.id}"
    client.get(url)
    with count_queries() as with_chart:
        assert 'id="joint-chart"' in client.get(url).get_data(as_text=True)
    monkeypatch.setattr(views, "_joint_chart", lambda call, order: None)
    with count_queries() as without_chart:
        assert 'id="joint-chart"' not in client.get(url).get_data(as_text=True)
    assert with_chart["n"] - without_chart["n"] <= 1


def test_a_scatter_of_ten_thousand_proposals_stays_small(app):
    """A call of 10,000 proposals: at most MAX_MARKS marks, each naming at most NAMED
    references and counting the others, every proposal in exactly one mark; the rendered
    chart stays small (it was 1.4 MB, the whole joint ranking page with it)."""
    import random

    from flask import render_template_string

    from cfp.core.charts import MAX_MARKS, NAMED

    rng = random.Random(4)
    pairs = [(f"CN-BE-2031-{i:05d}", Decimal(str(round(rng.uniform(0, 5), 2))),
              Decimal(str(round(rng.uniform(0, 5), 2))), rng.random() < 0.5) for i in range(10_000)]
    chart = scatter(pairs, Decimal(0), Decimal(5), Decimal("2.5"))
    assert len(chart.points) <= MAX_MARKS
    assert sorted(r for p in chart.points for r in p.references) == sorted(p[0] for p in pairs)
    assert chart.forward + chart.vetoed == 10_000
    assert all(len(p.named) <= NAMED for p in chart.points)
    with app.test_request_context():
        svg = render_template_string(
            "{% import 'charts.html' as charts %}"
            "{{ charts.scatter(chart, 't', 'd', 'x', 'y', 'f', 'v', 'th', id='c') }}", chart=chart)
    assert len(svg) < 150_000 and "more" in svg
