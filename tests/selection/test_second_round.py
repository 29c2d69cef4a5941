"""A call funded in two rounds: the main list at the 5th meeting, then a proposal from the
reserve list at the 6th. Envelopes count what earlier adopted lists committed, letters go
only to the proposals each decision decides, and project codes stay unique."""
from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.meetings.models import DecisionKind, DecisionState, MeetingStatus
from cfp.meetings.operations import (
    add_agenda_item,
    add_attendee,
    attach_project_list,
    create_meeting,
    draft_decision,
    draft_superseding_decision,
    record_adoption_at_meeting,
)
from cfp.projects.models import Project
from cfp.proposals.models import ProposalState
from cfp.selection.amendments import draft_amendment, list_difference
from cfp.selection.funding import (
    committed,
    draft_project_list,
    move_entry,
    plan_funding,
    propose_project_list,
    set_entry_amounts,
)
from cfp.selection.models import EntryKind, ProjectListState
from cfp.selection.ranking import set_outcome
from tests import factories as f
from tests.selection.test_committee import ranked


@pytest.fixture
def round_one():
    """CN envelope 500,000 CNY and BE 50,000 EUR over two years. A (300,000 / 30,000) is
    funded at the 5th meeting; B and D (200,000 / 20,000 each) go to the reserve list; C
    is not recommended."""
    cn, be, committee = f.world()
    secretariat = f.user(Role.secretariat, name="Secretary")
    call = f.call(committee, state=f.CallState.in_selection, reference="CN-BE-2021")
    call.side(cn).budget_envelope, call.side(be).budget_envelope = Decimal(500000), Decimal(50000)
    a = ranked(call, cn, be, "A", "4.9", "4.9", amounts=("300000", "30000"))
    b = ranked(call, cn, be, "B", "4.5", "4.5", amounts=("200000", "20000"))
    d = ranked(call, cn, be, "D", "4.2", "4.2", amounts=("200000", "20000"))
    c = ranked(call, cn, be, "C", "2.0", "2.0", cn_pass=False)
    set_outcome(secretariat, a, ProposalState.recommended)
    set_outcome(secretariat, b, ProposalState.reserve)
    set_outcome(secretariat, d, ProposalState.reserve)
    set_outcome(secretariat, c, ProposalState.not_recommended)
    decision = meeting_decision(secretariat, committee, cn, be, number=5)
    plist = draft_project_list(secretariat, call)
    propose_project_list(secretariat, plist)
    attach_project_list(secretariat, decision, plist)
    record_adoption_at_meeting(secretariat, decision)
    db.session.flush()
    return {"cn": cn, "be": be, "committee": committee, "secretariat": secretariat, "call": call,
            "a": a, "b": b, "c": c, "d": d, "decision": decision}


def meeting_decision(secretariat, committee, cn, be, *, number, status=MeetingStatus.held):
    meeting = create_meeting(secretariat, committee, number=number, date_=None,
                             mode=f.MeetingMode.video, host_agency_id=cn.id, status=status)
    add_attendee(secretariat, meeting, agency_id=cn.id, name="Zhao Jing", is_cochair=True)
    add_attendee(secretariat, meeting, agency_id=be.id, name="Christian Carette", is_cochair=True)
    item = add_agenda_item(secretariat, meeting, "Inter-governmental projects")
    db.session.flush()
    return draft_decision(secretariat, item, kind=DecisionKind.adopt_project_list,
                          title="Adopt the projects")


def letters_of(decision) -> dict:
    """proposal id -> number of letters written under `decision`."""
    rows = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%"))).all()
    counts: dict = {}
    for m in rows:
        pid = int(m.idempotency_key.split("-")[2])
        counts[pid] = counts.get(pid, 0) + 1
    return counts


def test_round_one_writes_a_letter_to_both_pis_of_every_proposal_it_decides(round_one):
    w = round_one
    assert w["a"].state == ProposalState.funded and w["c"].state == ProposalState.rejected
    assert w["b"].state == w["d"].state == ProposalState.reserve
    assert letters_of(w["decision"]) == {w["a"].id: 2, w["b"].id: 2, w["c"].id: 2, w["d"].id: 2}
    assert [p.code for p in db.session.scalars(sa.select(Project))] == ["S5-CN-BE-2021-01"]


def test_a_second_round_writes_letters_only_for_what_it_decides(round_one):
    w = round_one
    secretariat, call = w["secretariat"], w["call"]
    set_outcome(secretariat, w["b"], ProposalState.recommended)
    decision = meeting_decision(secretariat, w["committee"], w["cn"], w["be"], number=6)
    plist = draft_project_list(secretariat, call)
    assert {e.proposal_id: e.kind for e in plist.entries} == {w["b"].id: EntryKind.funded,
                                                              w["d"].id: EntryKind.reserve}
    propose_project_list(secretariat, plist)
    attach_project_list(secretariat, decision, plist)
    record_adoption_at_meeting(secretariat, decision)
    db.session.flush()
    assert w["b"].state == ProposalState.funded and w["d"].state == ProposalState.reserve
    assert w["a"].state == ProposalState.funded and w["c"].state == ProposalState.rejected
    # A (already funded), C (already rejected) and D (still on the reserve) hear nothing new.
    assert letters_of(decision) == {w["b"].id: 2}
    letter = db.session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-{w['b'].id}-%")))
    assert "S6-CN-BE-2021-01" in letter.body
    codes = sorted(p.code for p in db.session.scalars(sa.select(Project)))
    assert codes == ["S5-CN-BE-2021-01", "S6-CN-BE-2021-01"]


def test_two_lists_adopted_at_one_meeting_number_their_projects_on(round_one):
    w = round_one
    secretariat, call = w["secretariat"], w["call"]
    set_outcome(secretariat, w["b"], ProposalState.recommended)
    fifth = w["decision"].meeting
    item = add_agenda_item(secretariat, fifth, "Projects from the reserve list")
    db.session.flush()
    decision = draft_decision(secretariat, item, kind=DecisionKind.adopt_project_list,
                              title="Fund B")
    plist = draft_project_list(secretariat, call)
    propose_project_list(secretariat, plist)
    attach_project_list(secretariat, decision, plist)
    record_adoption_at_meeting(secretariat, decision)
    db.session.flush()
    assert db.session.scalar(sa.select(Project.code).filter_by(proposal_id=w["b"].id)) == \
        "S5-CN-BE-2021-02"


def test_a_later_list_is_checked_against_what_earlier_lists_committed(round_one):
    """After A (150,000 CNY a year), 100,000 a year is left on the CN side: B and D together
    (200,000 a year) fit the whole envelope but not what is left of it."""
    w = round_one
    secretariat, call = w["secretariat"], w["call"]
    set_outcome(secretariat, w["b"], ProposalState.recommended)
    set_outcome(secretariat, w["d"], ProposalState.recommended)
    plist = draft_project_list(secretariat, call)
    with pytest.raises(DomainError) as refused:
        propose_project_list(secretariat, plist)
    assert "MOST year 1" in refused.value.message and "150,000" in refused.value.message
    d_entry = next(e for e in plist.entries if e.proposal_id == w["d"].id)
    move_entry(secretariat, d_entry, kind=EntryKind.reserve, position=1, reason="Envelope")
    propose_project_list(secretariat, plist)  # B alone fits what is left


def test_the_funding_plan_of_a_second_round_funds_from_what_is_left(round_one):
    w = round_one
    secretariat, call = w["secretariat"], w["call"]
    plist = plan_funding(secretariat, call)
    kinds = {e.proposal_id: e.kind for e in plist.entries}
    assert w["a"].id not in kinds  # funded already
    assert kinds == {w["b"].id: EntryKind.funded, w["d"].id: EntryKind.reserve}


def test_the_envelope_page_shows_committed_proposed_and_left(client, round_one):
    w = round_one
    secretariat, call = w["secretariat"], w["call"]
    set_outcome(secretariat, w["b"], ProposalState.recommended)
    propose_project_list(secretariat, draft_project_list(secretariat, call))
    db.session.commit()
    f.login(client, secretariat)
    page = client.get(f"/selection/calls/{call.id}/envelopes").data.decode()
    table = page[page.index('id="envelope-use"'):]
    first_row = table[table.index("<tr>", table.index("<tbody>")):table.index("</tr>", table.index("<tbody>"))]
    # MOST, year 1: 250,000 envelope, 150,000 committed (A), 100,000 proposed (B), 0 left.
    assert [cell in first_row for cell in ("MOST", "CN¥250,000.00", "CN¥150,000.00",
                                           "CN¥100,000.00", "CN¥0.00")] == [True] * 5


def test_decisions_are_numbered_from_their_agenda_item(round_one):
    w = round_one
    fifth = w["decision"].meeting
    assert w["decision"].number == w["decision"].agenda_item.label == "5.2"  # item 1 is the agenda
    item = add_agenda_item(w["secretariat"], fifth, "Next meeting")
    add_agenda_item(w["secretariat"], fifth, "Any other business")
    db.session.flush()
    first = draft_decision(w["secretariat"], item, kind=DecisionKind.other, title="The 6th in China")
    second = draft_decision(w["secretariat"], item, kind=DecisionKind.other, title="In 2023")
    assert (item.label, first.number, second.number) == ("5.3", "5.3", "5.3.2")


def test_a_list_is_not_adopted_at_a_tentative_meeting(round_one):
    w = round_one
    secretariat = w["secretariat"]
    set_outcome(secretariat, w["b"], ProposalState.recommended)
    decision = meeting_decision(secretariat, w["committee"], w["cn"], w["be"], number=6,
                                status=MeetingStatus.tentative)
    plist = draft_project_list(secretariat, w["call"])
    propose_project_list(secretariat, plist)
    attach_project_list(secretariat, decision, plist)
    with pytest.raises(DomainError, match="6th meeting is tentative"):
        record_adoption_at_meeting(secretariat, decision)


def test_a_list_with_a_proposal_still_in_review_is_not_adopted(round_one):
    w = round_one
    secretariat, call = w["secretariat"], w["call"]
    set_outcome(secretariat, w["b"], ProposalState.recommended)
    plist = draft_project_list(secretariat, call)
    propose_project_list(secretariat, plist)
    w["b"].state = ProposalState.in_review  # sent back for one more review meanwhile
    decision = meeting_decision(secretariat, w["committee"], w["cn"], w["be"], number=6)
    attach_project_list(secretariat, decision, plist)
    with pytest.raises(DomainError, match="cannot be decided yet"):
        record_adoption_at_meeting(secretariat, decision)


def test_the_funding_plan_says_why_each_proposal_is_in_on_the_reserve_or_out(client, round_one):
    """The best combined score may be left out, but never without its reason."""
    w = round_one
    cn, be, call, secretariat = w["cn"], w["be"], w["call"], w["secretariat"]
    best = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                      state=ProposalState.in_review, title="Best so far, no BE review yet")
    f.ranking_entry(call, cn, best, "5.0")
    vetoed = ranked(call, cn, be, "Vetoed", "4.8", "2.0", be_pass=False)
    f.login(client, secretariat)
    response = client.post(f"/selection/calls/{call.id}/plan", follow_redirects=True)
    page = response.data.decode()
    table = page[page.index('id="plan-reasons"'):]
    rows = {p.reference: table[table.index(p.reference):][:600] for p in
            (w["a"], w["b"], w["d"], best, vetoed)}
    assert "Funded already" in rows[w["a"].reference]
    assert "Fits what is left" in rows[w["b"].reference]
    assert "Funding stops here: the MOST envelope for year 1 has CN¥0.00 left" in rows[w["d"].reference]
    assert "Not yet reviewed by WBI" in rows[best.reference]
    assert "Vetoed by WBI" in rows[vetoed.reference]
    assert page.count("why each proposal is") == 1  # said once, not flashed and shown again


def test_letters_summary_and_funded_letters_say_what_happens_next(client, round_one):
    w = round_one
    decision = w["decision"]
    f.login(client, w["secretariat"])
    page = client.get(f"/meetings/decisions/{decision.id}/letters").data.decode()
    table = page[page.index('id="letters"'):]
    assert table.count('class="letter-text"') == 8  # A, B, C and D, both PIs each
    for proposal, outcome in ((w["a"], "funded"), (w["b"], "reserve"), (w["c"], "not funded")):
        row = table[table.index(proposal.reference):][:400]
        assert f">{outcome}<" in row, (proposal.title, row)
    letter = db.session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-{w['a'].id}-%")))
    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=w["a"].id))
    body = letter.body
    assert "S5-CN-BE-2021-01" in body
    assert "MOST, year 1: CN¥150,000.00" in body and "WBI, year 2: €15,000.00" in body
    day = partial(format_date, format="medium", locale="en")  # the recipient's language
    assert f"The project runs from {day(project.start_date)} to {day(project.end_date)}" in body
    first_report = min(r.due_on for r in project.reports)
    first = min(project.reports, key=lambda r: r.due_on)
    assert f"The {first.kind.label} is due on {day(first_report)}." in body and "report report" not in body


def test_irreversible_committee_actions_ask_for_confirmation_first(client, round_one):
    """Adoption, release of letters and closing a call's selection say what will happen
    before they happen (cfp.js shows data-confirm before submitting)."""
    w = round_one
    secretariat = w["secretariat"]
    set_outcome(secretariat, w["b"], ProposalState.recommended)
    decision = meeting_decision(secretariat, w["committee"], w["cn"], w["be"], number=6)
    plist = draft_project_list(secretariat, w["call"])
    propose_project_list(secretariat, plist)
    attach_project_list(secretariat, decision, plist)
    db.session.commit()
    f.login(client, secretariat)

    def confirm_of(page: str, action: str) -> str:
        form = page[page.rindex("<form", 0, page.index(f'action="{action}"')):page.index(f'action="{action}"') + 400]
        return form.split('data-confirm="', 1)[1].split('"', 1)[0] if "data-confirm" in form else ""

    page = client.get(f"/meetings/decisions/{decision.id}").data.decode()
    assert "letters are written" in confirm_of(page, f"/meetings/decisions/{decision.id}/record")
    page = client.get(f"/meetings/decisions/{w['decision'].id}/letters").data.decode()
    assert "cannot be called back" in confirm_of(page, f"/meetings/decisions/{w['decision'].id}/release")
    page = client.get(f"/selection/joint/{w['call'].id}").data.decode()
    assert "reserve list" in confirm_of(page, f"/selection/calls/{w['call'].id}/archive")


def test_an_adopted_list_is_amended_only_by_a_superseding_decision(client, round_one):
    """A's first-year amounts are cut and B is funded from the reserve: a new version of
    the list, tabled under a decision that supersedes 5.2, shows the difference; its
    adoption changes A's allocations, funds B, and writes letters for those two only."""
    w = round_one
    secretariat, call, old_decision = w["secretariat"], w["call"], w["decision"]
    old_list = old_decision.project_list
    with pytest.raises(NotAllowed):
        set_entry_amounts(secretariat, old_list.entries[0], {}, reason="x")  # frozen
    amendment = draft_amendment(secretariat, old_list)
    assert amendment.amends_id == old_list.id and amendment.state == ProjectListState.draft
    entries = {e.proposal_id: e for e in amendment.entries}
    set_entry_amounts(secretariat, entries[w["a"].id], {(w["cn"].id, 1): Decimal(120000)},
                      reason="The CN team starts with one PhD student fewer")
    move_entry(secretariat, entries[w["b"].id], kind=EntryKind.funded, position=1, reason="Funds freed")
    difference = list_difference(amendment)
    assert [p.id for p in difference.added] == [w["b"].id] and difference.removed == []
    assert [(p.id, key, before, after) for p, key, before, after in difference.changed] == [
        (w["a"].id, (w["cn"].id, 1), Decimal("150000.00"), Decimal(120000))]
    propose_project_list(secretariat, amendment)  # A's old amounts are not counted twice

    meeting = create_meeting(secretariat, w["committee"], number=6, date_=None,
                             mode=f.MeetingMode.video, host_agency_id=w["cn"].id,
                             status=MeetingStatus.held)
    add_attendee(secretariat, meeting, agency_id=w["cn"].id, name="Zhao Jing", is_cochair=True)
    add_attendee(secretariat, meeting, agency_id=w["be"].id, name="Christian Carette", is_cochair=True)
    item = add_agenda_item(secretariat, meeting, "Amendment of the 2021 list")
    db.session.flush()
    decision = draft_superseding_decision(secretariat, old_decision, item=item,
                                          title="Amend the list of projects 2021")
    attach_project_list(secretariat, decision, amendment)
    db.session.commit()
    f.login(client, secretariat)
    page = client.get(f"/selection/lists/{amendment.id}").data.decode()
    assert "Changes to version" in page and "120,000.00" in page and "150,000.00" in page

    record_adoption_at_meeting(secretariat, decision)
    db.session.flush()
    assert old_decision.state == DecisionState.superseded
    assert old_list.state == ProjectListState.superseded
    project_a = db.session.scalar(sa.select(Project).filter_by(proposal_id=w["a"].id))
    assert project_a.code == "S5-CN-BE-2021-01"
    allocation = next(a for a in project_a.allocations if (a.agency_id, a.year) == (w["cn"].id, 1))
    assert allocation.amount == Decimal(120000)
    assert w["b"].state == ProposalState.funded
    assert db.session.scalar(sa.select(Project.code).filter_by(proposal_id=w["b"].id)) == \
        "S6-CN-BE-2021-01"
    assert letters_of(decision) == {w["a"].id: 2, w["b"].id: 2}
    letter_a = db.session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-{w['a'].id}-%")))
    assert "amended" in letter_a.body and "CN¥120,000.00" in letter_a.body
    # What the call committed is now the amended list's.
    assert committed(call)[(w["cn"].id, 1)] == Decimal(220000)
