"""The Joint Committee, issue 5: joint selection (veto, normalised combined score, ties),
the funding plan within both sides' envelopes per year, scenarios, meetings and decisions
(written procedure, no edit after adoption, superseding), minutes PDF, letters released
once, the chain meeting → decision → project → proposal and back, the public page, and
projects' follow-up (reports, renewal, mobility, dashboard)."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cfp.core.audit import AuditEntry
from cfp.core.errors import DomainError, IllegalTransition, NotAllowed
from cfp.core.outbox import MessageStatus, OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.meetings.models import Decision, DecisionKind, DecisionState, MeetingStatus
from cfp.meetings.operations import (
    add_agenda_item,
    add_attendee,
    approve_decision,
    attach_project_list,
    change_meeting_status,
    create_meeting,
    draft_decision,
    draft_written_decision,
    record_adoption_at_meeting,
)
from cfp.projects.models import Project, ProjectStatus, ReportKind, ReportState
from cfp.projects.operations import decide_project, mobility_against_plan, submit_report
from cfp.proposals.models import MobilityTrip, ProposalState
from cfp.reviews.models import Review, ReviewState
from cfp.selection.funding import (
    compare_scenarios,
    draft_project_list,
    plan_funding,
    propose_project_list,
    set_year_envelopes,
)
from cfp.selection.models import (
    EntryKind,
    ProjectList,
    ProjectListState,
    ScoreMethod,
    TieBreak,
    YearEnvelope,
)
from cfp.selection.operations import decision_letters
from cfp.selection.ranking import (
    break_tie,
    joint_ranking,
    score_method,
    set_outcome,
    set_score_method,
)
from tests import factories as f
from tests import pdftools


def ranked(call, cn, be, title, cn_score, be_score, *, cn_pass=True, be_pass=True,
           state=ProposalState.reviewed, amounts=("200000", "20000"), pis=None):
    pi_cn, pi_be = pis or (f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be))
    p = f.proposal(call, pi_cn, pi_be, state=state, title=title, amounts=amounts)
    f.ranking_entry(call, cn, p, cn_score, passed=cn_pass)
    f.ranking_entry(call, be, p, be_score, passed=be_pass)
    return p


@pytest.fixture
def world():
    cn, be, committee = f.world()
    secretariat = f.user(Role.secretariat, name="Secretary")
    call = f.call(committee, state=f.CallState.in_selection)
    return cn, be, committee, call, secretariat


def row_of(rows, proposal):
    return next(r for r in rows if r.proposal.id == proposal.id)


# --- joint selection -----------------------------------------------------------------------

def test_a_proposal_vetoed_by_one_side_does_not_go_forward(client, world):
    cn, be, _committee, call, secretariat = world
    vetoed = ranked(call, cn, be, "Vetoed by WBI", "4.8", "2.0", be_pass=False)
    fine = ranked(call, cn, be, "Passes both", "3.5", "3.5")
    rows = joint_ranking(call)
    assert not row_of(rows, vetoed).passes_both and row_of(rows, vetoed).vetoed_by == [be.id]
    assert [r.proposal.id for r in rows] == [fine.id, vetoed.id]  # the veto outranks a higher score
    with pytest.raises(DomainError, match="veto"):
        set_outcome(secretariat, vetoed, ProposalState.recommended)
    f.login(client, secretariat)
    page = client.get(f"/selection/joint/{call.id}").data.decode()
    assert "veto" in page
    # Through the page: the outcome is refused with the reason, the state is unchanged.
    response = client.post(f"/selection/joint/outcome/{vetoed.id}", data={"outcome": "recommended"},
                           follow_redirects=True)
    assert "either side’s veto stands" in response.data.decode() or "veto stands" in response.data.decode()
    db.session.refresh(vetoed)
    assert vetoed.state == ProposalState.reviewed
    # The funding plan never funds it either.
    plist = plan_funding(secretariat, call)
    assert [e.proposal_id for e in plist.entries] == [fine.id]


def test_combined_score_is_the_mean_of_normalised_scores_and_the_method_is_per_call(client, world):
    cn, be, _committee, call, secretariat = world
    a = ranked(call, cn, be, "A", "5.0", "3.0")
    b = ranked(call, cn, be, "B", "3.0", "4.0")
    c = ranked(call, cn, be, "C", "4.0", "2.0")
    # default: each side's mean on the 0–5 scale -> 0–1, then the mean of the two
    rows = joint_ranking(call)
    assert score_method(call) == ScoreMethod.scale
    assert row_of(rows, a).combined == Decimal("0.8000")  # (1 + 0.6) / 2
    assert row_of(rows, b).combined == Decimal("0.7000")  # (0.6 + 0.8) / 2
    # min–max over each side's proposals: CN 3..5, BE 2..4
    f.login(client, secretariat)
    assert client.post(f"/selection/joint/{call.id}/method", data={"method": "minmax"}).status_code == 302
    rows = joint_ranking(call)
    assert score_method(call) == ScoreMethod.minmax
    assert row_of(rows, a).combined == Decimal("0.7500")  # (1 + 0.5) / 2
    assert row_of(rows, b).combined == Decimal("0.5000")  # (0 + 1) / 2
    assert row_of(rows, c).combined == Decimal("0.2500")  # (0.5 + 0) / 2
    set_score_method(secretariat, call, ScoreMethod.zscore)
    rows = joint_ranking(call)
    assert [r.proposal.id for r in rows] == [a.id, b.id, c.id]
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="call.score_method")) is not None


def test_the_joint_order_is_kept_until_what_it_is_computed_from_changes(world):
    """The order is computed once per change of the side rankings, tie-breaks or method
    (bench/web.py: 2 pages a second for 10,000 proposals when computed on every request)."""
    from tests.test_query_counts import count_queries

    cn, be, _committee, call, secretariat = world
    a = ranked(call, cn, be, "A", "5.0", "3.0")
    b = ranked(call, cn, be, "B", "3.0", "4.0")
    first = joint_ranking(call, with_proposals=False)
    assert [r.proposal_id for r in first] == [a.id, b.id]
    first.reverse()
    first[0].combined = Decimal(0)  # a caller's rows are its own
    with count_queries() as counted:
        again = joint_ranking(call, with_proposals=False)
    assert counted["n"] == 1  # what the order is computed from, in one query
    assert [r.proposal_id for r in again] == [a.id, b.id] and again[1].combined == Decimal("0.7000")
    c = ranked(call, cn, be, "C", "5.0", "5.0")  # a side's ranking changed
    assert [r.proposal_id for r in joint_ranking(call, with_proposals=False)] == [c.id, a.id, b.id]
    set_score_method(secretariat, call, ScoreMethod.minmax)
    # min–max, CN 3..5 and BE 3..5: A (1 + 0) / 2, C (1 + 1) / 2
    assert [r.combined for r in joint_ranking(call, with_proposals=False)][:2] == [Decimal("1.0000"), Decimal("0.5000")]


def test_the_joint_ranking_page_reads_the_kept_order_without_changing_it(client, world):
    """The page copies only the rows it shows (to give them their proposals), also when a
    search reads every row's proposal; the kept order's rows stay as computed, and its
    chart is drawn once for the order."""
    from cfp.selection.ranking import kept_order

    cn, be, _committee, call, secretariat = world
    a = ranked(call, cn, be, "Alpha", "5.0", "3.0")
    ranked(call, cn, be, "Beta", "3.0", "4.0")
    f.login(client, secretariat)
    for url in (f"/selection/joint/{call.id}", f"/selection/joint/{call.id}?q=Alpha"):
        page = client.get(url)
        assert page.status_code == 200 and a.reference in page.get_data(as_text=True)
    order = kept_order(call)
    assert [r.proposal for r in order.rows] == [None, None]
    charts = [key for key in order._derived if key[0] == "chart"]
    assert len(charts) == 1
    client.get(f"/selection/joint/{call.id}")
    assert kept_order(call) is order and [k for k in order._derived if k[0] == "chart"] == charts
    # Drawn again in another language, and kept for it too.
    secretariat.locale = "fr"
    db.session.commit()
    french = client.get(f"/selection/joint/{call.id}").get_data(as_text=True)
    assert "Note moyenne selon" in french.split('id="joint-chart"')[1]
    assert len([k for k in order._derived if k[0] == "chart"]) == 2


def test_a_tie_is_flagged_and_settled_by_a_recorded_reason(client, world):
    cn, be, _committee, call, secretariat = world
    first = ranked(call, cn, be, "First alphabetically", "4.0", "3.0")
    second = ranked(call, cn, be, "Second", "3.0", "4.0")  # same combined score
    alone = ranked(call, cn, be, "Alone", "2.0", "2.0")
    rows = joint_ranking(call)
    assert row_of(rows, first).tied and row_of(rows, second).tied and not row_of(rows, alone).tied
    assert not row_of(rows, first).tie_settled
    f.login(client, secretariat)
    page = client.get(f"/selection/joint/{call.id}").data.decode()
    assert "tie" in page and "Record this order" in page
    # No reason: refused.
    with pytest.raises(DomainError):
        break_tie(secretariat, call, [second.id, first.id], "  ")
    # Not tied: refused.
    with pytest.raises(DomainError):
        break_tie(secretariat, call, [alone.id, first.id], "because")
    response = client.post(f"/selection/joint/{call.id}/ties", data={
        "order": f"{second.reference}, {first.reference}",
        "reason": "Stronger complementarity of the teams"})
    assert response.status_code == 302
    tie = db.session.scalar(sa.select(TieBreak).filter_by(call_id=call.id))
    assert tie.proposal_ids == [second.id, first.id] and tie.reason == "Stronger complementarity of the teams"
    audit = db.session.scalar(sa.select(AuditEntry).filter_by(action="call.tie_break"))
    assert audit.after["reason"] == "Stronger complementarity of the teams"
    rows = joint_ranking(call)
    assert [r.proposal.id for r in rows][:2] == [second.id, first.id]
    assert row_of(rows, first).tie_settled
    page = client.get(f"/selection/joint/{call.id}").data.decode()
    assert "Stronger complementarity of the teams" in page


# --- funding plan ---------------------------------------------------------------------------

def test_the_funding_plan_stops_at_the_first_sides_exhausted_envelope(client, world):
    cn, be, _committee, call, secretariat = world
    # Each proposal asks 200 000 CNY and 20 000 EUR over 2 years (100 000 / 10 000 a year).
    p1 = ranked(call, cn, be, "Best", "5.0", "5.0")
    p2 = ranked(call, cn, be, "Second", "4.5", "4.5")
    p3 = ranked(call, cn, be, "Third, small", "4.0", "4.0", amounts=("20000", "2000"))
    f.login(client, secretariat)
    # WBI's envelope for year 2 covers only one proposal; CN's covers everything.
    response = client.post(f"/selection/calls/{call.id}/envelopes", data={
        f"envelope-{be.id}-1": "50000", f"envelope-{be.id}-2": "15000",
        f"envelope-{cn.id}-1": "1000000", f"envelope-{cn.id}-2": "1000000"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(YearEnvelope.amount).filter_by(call_id=call.id, agency_id=be.id, year=2)) == Decimal(15000)
    assert client.post(f"/selection/calls/{call.id}/plan").status_code == 302
    plist = db.session.scalar(sa.select(ProjectList).filter_by(call_id=call.id))
    assert [(e.proposal_id, e.kind) for e in plist.entries] == [
        (p1.id, EntryKind.funded), (p2.id, EntryKind.reserve), (p3.id, EntryKind.reserve)]
    # The stop says which side's envelope ran out, for which year; p3 would fit but
    # the funded list stops at the first proposal that does not.
    assert p2.reference in plist.notes and "WBI" in plist.notes and "year 2" in plist.notes
    page = client.get(f"/selection/lists/{plist.id}").data.decode()
    assert "WBI envelope for year 2" in page
    # Amounts per side and year, in each side's currency.
    entry = plist.entries[0]
    assert sorted((a.agency_id, a.year, a.amount) for a in entry.amounts) == sorted([
        (cn.id, 1, Decimal("100000.00")), (cn.id, 2, Decimal("100000.00")),
        (be.id, 1, Decimal("10000.00")), (be.id, 2, Decimal("10000.00"))])


def test_staff_move_and_change_with_a_reason_and_compare_scenarios(client, world):
    cn, be, _committee, call, secretariat = world
    p1 = ranked(call, cn, be, "Best", "5.0", "5.0")
    p2 = ranked(call, cn, be, "Second", "4.5", "4.5")
    f.login(client, secretariat)
    client.post(f"/selection/calls/{call.id}/envelopes", data={f"envelope-{be.id}-2": "15000"})
    first = plan_funding(secretariat, call)
    second = plan_funding(secretariat, call)
    db.session.flush()
    e1 = next(e for e in second.entries if e.proposal_id == p1.id)
    e2 = next(e for e in second.entries if e.proposal_id == p2.id)
    # A move needs a reason.
    assert client.post(f"/selection/entries/{e2.id}/move", data={"kind": "funded", "position": "1", "reason": ""}).status_code == 302
    db.session.refresh(e2)
    assert e2.kind == EntryKind.reserve
    client.post(f"/selection/entries/{e2.id}/move", data={"kind": "funded", "position": "1", "reason": "Regional balance"})
    client.post(f"/selection/entries/{e1.id}/move", data={"kind": "reserve", "position": "2", "reason": "Regional balance"})
    # An amount change needs a reason too.
    key = f"amount-{e2.id}-{be.id}-2"
    refused = client.post(f"/selection/lists/{second.id}", data={key: "9000"})
    assert refused.status_code == 422 and f'name="{key}" value="9000"' in refused.data.decode()  # typed, kept
    assert next(a.amount for a in e2.amounts if a.agency_id == be.id and a.year == 2) == Decimal("10000.00")
    client.post(f"/selection/lists/{second.id}", data={key: "9000", "reason": "Cut travel in year 2"})
    db.session.expire_all()
    assert next(a.amount for a in e2.amounts if a.agency_id == be.id and a.year == 2) == Decimal("9000.00")
    moves = db.session.scalars(sa.select(AuditEntry).filter_by(action="project_list.move")).all()
    assert {m.after["reason"] for m in moves} == {"Regional balance"}
    change = db.session.scalar(sa.select(AuditEntry).filter_by(action="project_list.amounts"))
    assert change.after["reason"] == "Cut travel in year 2"
    # The scenarios side by side: totals per side and year, and the funded set differences.
    scenarios = compare_scenarios(call, [first, second])
    assert scenarios[1].added == {p2.id} and scenarios[1].dropped == {p1.id}
    assert scenarios[1].totals[(be.id, 2)] == Decimal("9000.00")
    page = client.get(f"/selection/calls/{call.id}/scenarios").data.decode()
    assert "version 1" in page and "version 2" in page and p2.reference in page and "€9,000.00" in page


def test_a_list_over_a_years_envelope_cannot_be_proposed(world):
    cn, be, _committee, call, secretariat = world
    p1 = ranked(call, cn, be, "Best", "5.0", "5.0", state=ProposalState.recommended)
    plist = draft_project_list(secretariat, call)
    set_year_envelopes(secretariat, call, {(be.id, 1): Decimal(5000)})
    with pytest.raises(DomainError, match="WBI year 1"):
        propose_project_list(secretariat, plist)
    assert plist.entries[0].proposal_id == p1.id


# --- meetings and decisions ------------------------------------------------------------------

def adopted(call, cn, be, committee, secretariat, *, number=5):
    """A held meeting with both co-chairs, a project list adopted at decision N.1."""
    meeting = create_meeting(secretariat, committee, number=number, date_=None,
                                 mode=f.MeetingMode.video, host_agency_id=be.id,
                                 status=MeetingStatus.held)
    add_attendee(secretariat, meeting, agency_id=cn.id, name="Zhao Jing", name_original="赵静",
                     title="Deputy Director-General", organisation="MOST", is_cochair=True)
    add_attendee(secretariat, meeting, agency_id=be.id, name="Christian Carette",
                     title="Administrateur général adjoint", organisation="Wallonie-Bruxelles International",
                     is_cochair=True)
    add_attendee(secretariat, meeting, agency_id=be.id, name="Hélène Lefèvre-Dumoulin",
                     title="Déléguée", organisation="Délégation Wallonie-Bruxelles à Pékin")
    item = add_agenda_item(secretariat, meeting, "Inter-governmental projects")
    db.session.flush()
    decision = draft_decision(secretariat, item, kind=DecisionKind.adopt_project_list,
                                  title="Adopt the projects")
    plist = plan_funding(secretariat, call)
    propose_project_list(secretariat, plist)
    attach_project_list(secretariat, decision, plist)
    record_adoption_at_meeting(secretariat, decision)
    db.session.flush()
    return meeting, decision, plist


def test_an_adopted_decision_cannot_be_edited_only_superseded(client, world):
    cn, be, committee, call, secretariat = world
    ranked(call, cn, be, "Best", "5.0", "5.0")
    _meeting, decision, plist = adopted(call, cn, be, committee, secretariat)
    f.login(client, secretariat)
    response = client.post(f"/meetings/decisions/{decision.id}/edit",
                           data={"title": "Changed afterwards", "text": "x"}, follow_redirects=True)
    page = response.data.decode()
    assert "An adopted decision cannot be edited; supersede it with a new one." in page
    db.session.refresh(decision)
    assert decision.title == "Adopt the projects" and decision.state == DecisionState.adopted
    # The list is frozen too.
    entry = plist.entries[0]
    assert client.post(f"/selection/lists/{plist.id}", data={f"amount-{entry.id}-{cn.id}-1": "1"}).status_code == 403
    # Supersede it, by written procedure; once both co-chairs approve, the old one is superseded.
    response = client.post(f"/meetings/decisions/{decision.id}/supersede",
                           data={"agenda_item_id": "0", "title": "Adopt the projects (corrected)"})
    new = db.session.scalar(sa.select(Decision).filter_by(supersedes_id=decision.id))
    assert response.location.endswith(f"/meetings/decisions/{new.id}")
    assert new.written_procedure and new.meeting_id is None and new.state == DecisionState.draft
    new.kind = DecisionKind.other  # the corrected text only, no new list
    cochair_cn = f.user(Role.cochair, agency=cn, name="Zhao Jing")
    cochair_be = f.user(Role.cochair, agency=be, name="Christian Carette")
    approve_decision(cochair_cn, new)
    approve_decision(cochair_be, new)
    assert new.state == DecisionState.adopted
    db.session.refresh(decision)
    assert decision.state == DecisionState.superseded
    page = client.get(f"/meetings/decisions/{decision.id}").data.decode()
    assert "Superseded by" in page and new.number in page


def test_written_procedure_is_listed_at_the_next_meeting(client, world):
    cn, be, _committee, _call, secretariat = world
    f.login(client, secretariat)
    client.post("/meetings/decisions/written", data={"kind": "schedule_meeting", "title": "The 6th meeting in China in 2023"})
    decision = db.session.scalar(sa.select(Decision).filter_by(written_procedure=True))
    assert decision.number == "WP-1" and decision.meeting_id is None
    approve_decision(f.user(Role.cochair, agency=cn), decision)
    approve_decision(f.user(Role.cochair, agency=be), decision)
    assert decision.state == DecisionState.adopted and decision.meeting_id is None
    client.post("/meetings", data={"number": "6", "date_note": "2023", "mode": "in_person",
                                             "host_agency_id": cn.id, "city": "Beijing", "status": "tentative"})
    meeting = db.session.scalar(sa.select(f.Meeting).filter_by(number=6))
    db.session.refresh(decision)
    assert decision.reported_at_meeting_id == meeting.id and decision.meeting_id is None
    page = client.get(f"/meetings/{meeting.id}").data.decode()
    assert "Decisions taken by written procedure since the previous meeting" in page
    assert "The 6th meeting in China in 2023" in page


def test_meeting_status_moves_by_its_transitions_and_the_standing_item_reports(client, world):
    cn, be, committee, call, secretariat = world
    p = ranked(call, cn, be, "Best", "5.0", "5.0")
    meeting5, _decision, _plist = adopted(call, cn, be, committee, secretariat)
    f.login(client, secretariat)
    client.post("/meetings", data={"number": "6", "date_note": "2023", "mode": "in_person",
                                             "host_agency_id": cn.id, "status": "tentative"})
    meeting6 = db.session.scalar(sa.select(f.Meeting).filter_by(number=6))
    assert [(i.number, i.standing_report) for i in meeting6.agenda_items] == [(1, False), (2, True)]
    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=p.id))
    page = client.get(f"/meetings/{meeting6.id}").data.decode()
    assert "Report on the projects adopted at the previous meeting" in page and project.code in page
    assert client.post(f"/meetings/{meeting6.id}/status", data={"status": "confirmed"}).status_code == 302
    db.session.refresh(meeting6)
    assert meeting6.status == MeetingStatus.confirmed
    with pytest.raises(IllegalTransition):
        change_meeting_status(secretariat, meeting5, MeetingStatus.tentative)  # held is final


# --- minutes ----------------------------------------------------------------------------------

def test_the_minutes_pdf_renders_chinese_and_french_names(client, world):
    from pypdf import PdfReader

    cn, be, committee, call, secretariat = world
    ranked(call, cn, be, "Perovskite tandem cells", "5.0", "5.0")
    meeting, decision, _plist = adopted(call, cn, be, committee, secretariat)
    f.login(client, secretariat)
    response = client.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "赵静" in text
    assert "Hélène Lefèvre-Dumoulin" in text and "Délégation Wallonie-Bruxelles à Pékin" in text
    assert "Adopt the projects" in text and "Annex" in text
    project = db.session.scalar(sa.select(Project).filter_by(decision_id=decision.id))
    assert project.code in text.replace("\n", "")
    # Cached until the meeting changes: the same bytes again, new ones after a change.
    assert client.get(f"/meetings/{meeting.id}/minutes.pdf").data == response.data
    add_attendee(secretariat, meeting, agency_id=cn.id, name="Guo Xiaolin", name_original="郭晓林")
    db.session.flush()
    again = client.get(f"/meetings/{meeting.id}/minutes.pdf").data
    assert "郭晓林" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(again)).pages)


def test_the_minutes_embed_their_chinese_font_number_their_pages_and_carry_signatures(client, world):
    """Shown on a computer without Chinese fonts: every font is embedded (pdffonts)."""
    cn, be, committee, call, secretariat = world
    ranked(call, cn, be, "Perovskite tandem cells", "5.0", "5.0")
    meeting, _decision, _plist = adopted(call, cn, be, committee, secretariat)
    f.login(client, secretariat)
    data = client.get(f"/meetings/{meeting.id}/minutes.pdf").data
    other_fonts = pdftools.non_standard_fonts(data)  # the Chinese names' font travels with the file
    assert other_fonts and all(other_fonts.values()), pdftools.fonts(data)
    text = pdftools.text(data)
    pages = text.count("\f") or 1
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    block = text[text.index("Signed by the co-chairs"):]
    assert "Zhao Jing (赵静)" in block and "Christian Carette" in block
    assert "Deputy Director-General" in block and block.count("Signature:") == 2


# --- adoption, letters, the chain ---------------------------------------------------------------

def test_letters_released_twice_are_sent_once(client, world):
    cn, be, committee, call, secretariat = world
    ranked(call, cn, be, "Funded", "5.0", "5.0")
    ranked(call, cn, be, "Not funded", "2.0", "2.0", be_pass=False)
    _meeting, decision, _plist = adopted(call, cn, be, committee, secretariat)
    letters = decision_letters(decision)
    assert len(letters) == 4 and all(m.status == MessageStatus.held for m in letters)
    f.login(client, secretariat)
    page = client.get(f"/meetings/decisions/{decision.id}/letters").data.decode()
    assert "Release this letter" in page and letters[0].body.split("\n")[0] in page
    # One by one, twice.
    for _ in range(2):
        assert client.post(f"/meetings/decisions/{decision.id}/letters/{letters[0].id}/release").status_code == 302
    # Then all, twice.
    for _ in range(2):
        assert client.post(f"/meetings/decisions/{decision.id}/release").status_code == 302
    db.session.expire_all()
    letters = decision_letters(decision)
    assert all(m.status == MessageStatus.sent for m in letters)
    assert all(m.attempts == 1 for m in letters)  # delivered (claimed) once each
    releases = db.session.scalars(sa.select(AuditEntry).filter_by(action="decision.release_letter")).all()
    assert [r.after["released"] for r in releases] == [True, False]
    bulk = db.session.scalars(sa.select(AuditEntry).filter_by(action="decision.release_letters")).all()
    assert [r.after["released"] for r in bulk] == [3, 0]


def test_the_chain_from_a_meeting_to_a_projects_code_and_back(client, world):
    cn, be, committee, call, secretariat = world
    p = ranked(call, cn, be, "Perovskite tandem cells", "5.0", "5.0")
    loser = ranked(call, cn, be, "Vetoed", "5.0", "1.0", be_pass=False)
    meeting, decision, plist = adopted(call, cn, be, committee, secretariat)
    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=p.id))
    assert project.code == f"S5-{call.reference}-01"
    assert plist.state == ProjectListState.adopted and plist.decision_id == decision.id
    db.session.refresh(loser)
    assert loser.state == ProposalState.rejected
    f.login(client, secretariat)
    page = client.get(f"/meetings/{meeting.id}").data.decode()
    assert f"/meetings/decisions/{decision.id}" in page
    page = client.get(f"/meetings/decisions/{decision.id}").data.decode()
    assert project.code in page and f"/selection/lists/{plist.id}" in page and f"/projects/{project.id}" in page
    page = client.get(f"/projects/{project.id}").data.decode()
    assert f"/proposals/{p.id}" in page and f"/meetings/decisions/{decision.id}" in page
    page = client.get(f"/proposals/{p.id}").data.decode()
    assert project.code in page and f"/meetings/decisions/{decision.id}" in page and f"/selection/lists/{plist.id}" in page
    page = client.get(f"/meetings/decisions/{decision.id}").data.decode()
    assert f"/meetings/{meeting.id}" in page  # and back to the meeting


def test_applicants_see_the_result_and_comments_only_after_their_letter(client, world):
    cn, be, committee, call, secretariat = world
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei")
    pi_be = f.user(Role.researcher, agency=be, name="Anne Dupont")
    p = ranked(call, cn, be, "Perovskite tandem cells", "5.0", "5.0", pis=(pi_cn, pi_be))
    reviewer = f.reviewer(cn, name="Secret Reviewer Name")
    a = f.assignment(p, reviewer)
    db.session.add(Review(assignment=a, state=ReviewState.submitted, comments_to_applicants="Clear work plan.",
                          confidential_comments="Confidential remark."))
    loser_pi = f.user(Role.researcher, agency=cn)
    loser = ranked(call, cn, be, "Vetoed", "4.0", "1.0", be_pass=False, pis=(loser_pi, f.user(Role.researcher, agency=be)))
    db.session.add(Review(assignment=f.assignment(loser, f.reviewer(be, name="Other Reviewer")),
                          state=ReviewState.submitted, comments_to_applicants="Too ambitious for the budget."))
    db.session.flush()
    _meeting, decision, _plist = adopted(call, cn, be, committee, secretariat)
    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=p.id))
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{p.id}").data.decode()
    assert "Clear work plan." not in page and project.code not in page
    assert "once your decision letter is released" in page
    client.post("/logout")
    f.login(client, secretariat)
    client.post(f"/meetings/decisions/{decision.id}/release")
    client.post("/logout")
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{p.id}").data.decode()
    assert "Clear work plan." in page and project.code in page
    assert "Secret Reviewer Name" not in page and "Confidential remark." not in page
    client.post("/logout")
    # A rejected proposal (vetoed, on no list): its applicants see the result too.
    f.login(client, loser_pi)
    page = client.get(f"/proposals/{loser.id}").data.decode()
    assert "Too ambitious for the budget." in page and "rejected" in page
    assert "Other Reviewer" not in page


def test_the_public_page_lists_adopted_projects_per_meeting(client, world):
    cn, be, committee, call, secretariat = world
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei", name_original="李伟")
    pi_be = f.user(Role.researcher, agency=be, name="Anne Dupont")
    p = ranked(call, cn, be, "Perovskite tandem cells", "5.0", "5.0", pis=(pi_cn, pi_be))
    meeting, _decision, _plist = adopted(call, cn, be, committee, secretariat)
    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=p.id))
    page = client.get("/projects/adopted").data.decode()  # anonymous
    assert meeting.title in page and project.code in page and "Perovskite tandem cells" in page
    assert "Li Wei (李伟)" in page and "Anne Dupont" in page
    assert "Tsinghua University" in page and "UCLouvain" in page


# --- projects ------------------------------------------------------------------------------------

def test_interim_report_conditions_the_second_year_and_mobility_against_plan(client, world):
    cn, be, committee, call, secretariat = world
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei")
    pi_be = f.user(Role.researcher, agency=be, name="Anne Dupont")
    p = ranked(call, cn, be, "Perovskite tandem cells", "5.0", "5.0", pis=(pi_cn, pi_be))
    planned = MobilityTrip(proposal_id=p.id, from_agency_id=cn.id, to_agency_id=be.id, traveller="Li Wei",
                           days=10, year=1)
    db.session.add(planned)
    db.session.flush()
    _meeting, _decision, _plist = adopted(call, cn, be, committee, secretariat)
    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=p.id))
    later = draft_written_decision(secretariat, committee, kind=DecisionKind.other, title="Renewals")
    approve_decision(f.user(Role.cochair, agency=cn), later)
    approve_decision(f.user(Role.cochair, agency=be), later)
    # No interim report yet: the renewal is refused.
    with pytest.raises(DomainError, match="interim report"):
        decide_project(secretariat, project, later, ProjectStatus.renewed)
    with pytest.raises(NotAllowed):
        submit_report(secretariat, project, ReportKind.interim, "Not a PI")
    f.login(client, pi_be)  # either PI
    assert client.post(f"/projects/{project.id}/reports",
                       data={"kind": "interim", "text": "Year one: samples made."}).status_code == 302
    client.post(f"/projects/{project.id}/trips", data={
        "planned_trip_id": planned.id, "direction": f"{cn.id}-{be.id}", "traveller": "Li Wei",
        "days": "7", "year": "1"})
    client.post("/logout")
    f.login(client, secretariat)
    assert client.post(f"/projects/{project.id}/status",
                       data={"decision_id": later.id, "status": "renewed"}).status_code == 302
    db.session.refresh(project)
    assert project.status == ProjectStatus.renewed
    rows = mobility_against_plan(project)
    assert rows[0]["planned"].id == planned.id and rows[0]["days_done"] == 7
    page = client.get(f"/projects/{project.id}").data.decode()
    assert "Year one: samples made." in page and "Mobility: done against the plan" in page
    assert project.start_date is not None and project.end_date > project.start_date
    interim = next(r for r in project.reports if r.kind == ReportKind.interim)
    assert interim.state == ReportState.accepted
    page = client.get("/projects/dashboard").data.decode()
    assert project.code in page and call.reference in page and "final report (" in page
    assert 'class="text-danger"' not in page
    final = next(r for r in project.reports if r.kind == ReportKind.final)
    final.due_on = project.start_date - timedelta(days=1)  # now overdue
    db.session.flush()
    page = client.get("/projects/dashboard").data.decode()
    assert '<td class="text-danger">1</td>' in page


@pytest.mark.parametrize("path", ["/projects/adopted", "/projects/dashboard"])
def test_project_pages_run_a_bounded_number_of_queries(client, world, path):
    from tests.test_query_counts import count_queries

    cn, be, committee, _call, secretariat = world
    f.login(client, secretariat)
    counts = []
    for n, number in ((2, 5), (6, 6)):
        other = f.call(committee, state=f.CallState.in_selection)
        for i in range(n):
            ranked(other, cn, be, f"Proposal {number}-{i}", "5.0", "5.0", amounts=("2000", "200"))
        adopted(other, cn, be, committee, secretariat, number=number)
        db.session.flush()
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        counts.append(counter["n"])
    assert counts[0] == counts[1], counts


def test_reserve_ones_stay_in_reserve_at_adoption(world):
    cn, be, committee, call, secretariat = world
    ranked(call, cn, be, "Best", "5.0", "5.0")
    second = ranked(call, cn, be, "Second", "4.5", "4.5")
    set_year_envelopes(secretariat, call, {(be.id, 2): Decimal(15000)})
    adopted(call, cn, be, committee, secretariat)
    db.session.refresh(second)
    assert second.state == ProposalState.reserve
    letter = db.session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-%-{second.id}-%")))
    assert "reserve list" in letter.body


def test_adoption_at_a_meeting_builds_the_minutes_in_the_background(app, client, world):
    from pathlib import Path

    cn, be, committee, call, secretariat = world
    ranked(call, cn, be, "Best", "5.0", "5.0")
    meeting, _decision, _plist = adopted(call, cn, be, committee, secretariat)
    folder = Path(app.instance_path) / "minutes"
    for old in folder.glob(f"meeting-{meeting.id}-*.pdf"):
        old.unlink()
    db.session.commit()  # the task is queued after commit (eager here)
    from cfp.meetings.minutes import cache_key

    for language in ("en", "fr", "zh_Hans"):  # one file per language, ready for every viewer
        assert (folder / f"meeting-{meeting.id}-{cache_key(meeting)}-{language}.pdf").exists()
