"""The demo data: the real case, consistent with the operations, seeded once."""
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from cfp.auth.models import User
from cfp.calls.models import Agency, Call, CallState
from cfp.core.audit import AuditEntry
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import frozen_time, utcnow
from cfp.demo import DEMO_PASSWORD, demo_accounts, seed_demo
from cfp.extensions import db
from cfp.meetings.models import (
    Decision,
    DecisionKind,
    DecisionState,
    Meeting,
    MeetingMode,
    MeetingStatus,
)
from cfp.projects.models import Project
from cfp.proposals.models import EligibilityStatus, Proposal, ProposalState
from cfp.reviews.models import Assignment, AssignmentState, RankingEntry, Review, ReviewState
from cfp.selection.models import EntryKind, ProjectListState

SINGLE_STAGE_STATES = set(ProposalState) - {ProposalState.pre_proposal, ProposalState.invited}


def _one(model, **where):
    return db.session.scalar(sa.select(model).filter_by(**where))


def test_seed_demo_builds_the_real_case_once():
    assert seed_demo() is True

    agencies = {a.code: a for a in db.session.scalars(sa.select(Agency))}
    assert set(agencies) == {"CN", "BE", "IT"}
    cn, be = agencies["CN"], agencies["BE"]
    assert (cn.short_name, cn.currency, cn.timezone) == ("MOST", "CNY", "Asia/Shanghai")
    assert (be.short_name, be.currency, be.timezone) == ("WBI", "EUR", "Europe/Brussels")

    fifth = _one(Meeting, number=5)
    assert fifth.date == date(2021, 7, 14)
    assert fifth.mode == MeetingMode.video and fifth.status == MeetingStatus.held
    cochairs = {a.agency_id: a for a in fifth.cochairs}
    assert cochairs[cn.id].name == "Zhao Jing" and cochairs[cn.id].name_original == "赵静"
    assert cochairs[be.id].name == "Christian Carette"
    assert cochairs[cn.id].user.email == "zhao.jing@example.org"
    assert cochairs[be.id].user.email == "christian.carette@example.org"

    decision = _one(Decision, meeting_id=fifth.id, kind=DecisionKind.adopt_project_list)
    assert decision.state == DecisionState.adopted
    assert decision.number.startswith("5.")
    assert {a.agency_id for a in decision.approvals} == {cn.id, be.id}
    plist = decision.project_list
    assert plist.state == ProjectListState.adopted and plist.call.reference == "CN-BE-2021"
    funded = [e.proposal for e in plist.entries if e.kind == EntryKind.funded]
    assert len(funded) >= 3
    adopted = db.session.scalars(sa.select(Project).filter_by(decision_id=decision.id))
    projects = {p.proposal_id: p for p in adopted}
    assert set(projects) == {p.id for p in funded}
    for proposal in funded:
        assert proposal.state == ProposalState.funded
        assert projects[proposal.id].code.startswith("S5-CN-BE-2021-")
    schedule = _one(Decision, meeting_id=fifth.id, kind=DecisionKind.schedule_meeting)
    assert schedule.state == DecisionState.adopted

    sixth = _one(Meeting, number=6)
    assert sixth.status == MeetingStatus.tentative
    assert sixth.date is None and sixth.date_note == "2023"
    assert sixth.host_agency_id == cn.id and sixth.mode == MeetingMode.in_person

    proposals = db.session.scalars(sa.select(Proposal)).all()
    assert len(proposals) >= 30
    assert {p.state for p in proposals} == SINGLE_STAGE_STATES

    assert _one(Call, reference="CN-BE-2021").state == CallState.decided
    open_call = _one(Call, reference="CN-BE-2023")
    assert open_call.state == CallState.open and open_call.accepts_submissions(utcnow())

    # MOST's second committee, with MUR of Italy: its own open call and its own staff.
    italy = _one(Call, reference="CN-IT-2025")
    assert italy.state == CallState.open and {a.code for a in italy.agencies} == {"CN", "IT"}
    most_be, most_it = _one(User, email="staff.most@example.org"), _one(User, email="staff.most.it@example.org")
    assert most_it.has_role(Role.staff, cn, italy.committee) and italy.is_staff(most_it)
    assert not italy.is_staff(most_be) and open_call.is_staff(most_be) and not open_call.is_staff(most_it)
    assert italy.is_staff(_one(User, email="staff.mur@example.org"))

    for _who, email in demo_accounts():
        assert _one(User, email=email).check_password(DEMO_PASSWORD), email

    assert seed_demo() is False
    assert db.session.scalar(sa.select(sa.func.count(Agency.id))) == 3


def test_demo_data_is_consistent():
    seed_demo()
    for proposal in db.session.scalars(sa.select(Proposal)):
        for side in proposal.sides:
            call_side = proposal.call.side(side.agency_id)
            assert side.requested_amount <= call_side.max_request, proposal.acronym
        checks = {c.status for c in proposal.eligibility_checks}
        if proposal.state == ProposalState.draft:
            assert proposal.reference is None and not checks
        elif proposal.state == ProposalState.ineligible:
            assert EligibilityStatus.ineligible in checks
        elif proposal.state == ProposalState.rejected and EligibilityStatus.ineligible in checks:
            pass  # rejected at adoption after being found ineligible
        elif proposal.state not in (ProposalState.submitted, ProposalState.withdrawn):
            assert checks == {EligibilityStatus.eligible}, proposal.acronym

    reviews = db.session.scalars(
        sa.select(Review).where(Review.state == ReviewState.submitted)).all()
    assert reviews
    for review in reviews:
        criteria = review.assignment.proposal.call.criteria
        assert {s.criterion_id for s in review.scores} == {c.id for c in criteria}
        for criterion in criteria:
            assert criterion.valid_score(review.score_for(criterion))

    for reference in ("CN-BE-2021", "CN-BE-2022"):
        call = _one(Call, reference=reference)
        sides = set(db.session.scalars(
            sa.select(RankingEntry.agency_id).filter_by(call_id=call.id)))
        assert sides == {a.id for a in call.agencies}

    for email in ("reviewer.cn@example.org", "reviewer.be@example.org"):
        reviewer = _one(User, email=email)
        assignments = db.session.scalars(sa.select(Assignment).filter_by(reviewer_id=reviewer.id))
        states = [a.state for a in assignments]
        assert AssignmentState.invited in states

    # The open-call draft both demo researchers lead, ready for them to confirm and submit.
    cn_pi = _one(User, email="researcher.cn@example.org")
    be_pi = _one(User, email="researcher.be@example.org")
    drafts = db.session.scalars(sa.select(Proposal).where(Proposal.state == ProposalState.draft))
    shared = [p for p in drafts if {s.pi_user_id for s in p.sides} == {cn_pi.id, be_pi.id}]
    assert shared and shared[0].call.reference == "CN-BE-2023"


def test_every_demo_account_logs_in_and_sees_its_pages(client):
    seed_demo()
    for _who, email in demo_accounts():
        user = _one(User, email=email)
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        for path in ["/", "/calls/", "/mail"] + _nav_paths(user):
            assert client.get(path).status_code == 200, (email, path)
        assert client.post("/logout").status_code == 302


def test_no_demo_page_links_to_what_its_viewer_cannot_open_or_shows_a_stored_code(client):
    """Every demo account walks the whole site from the home page (tests/test_links.py; at
    most 3 query variants of a page): no link answers 403, 404 or 500, and no page shows a
    stored code where a person reads (tests/test_no_raw_codes.py). One walk for both."""
    from tests.test_links import _walk
    from tests.test_no_raw_codes import codes_shown

    seed_demo()
    broken, shown = [], []
    for _who, email in demo_accounts():
        client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        pages: dict[str, str] = {}
        seen, found_on = _walk(client, "/", pages, per_path=3)
        assert len(pages) > 3, email
        broken += [f"{email}: {url} ({status}), linked from {found_on[url]}"
                   for url, status in seen.items() if status in (403, 404, 500)]
        shown += [f"{email}: {code!r} on {url}" for url, code in codes_shown(pages)]
        assert client.post("/logout").status_code == 302
    assert not broken, "\n".join(broken)
    assert not shown, "\n".join(sorted(shown))


def _nav_paths(user: User) -> list[str]:
    from cfp.core.roles import Role

    paths = []
    if user.has_role(Role.researcher):
        paths.append("/proposals/mine")
    if user.has_role(Role.reviewer):
        paths.append("/reviews/mine")
    if user.has_role(Role.staff):
        paths += ["/proposals/staff", "/reviews/staff", "/meetings"]
    if user.is_secretariat or user.has_role(Role.cochair):
        paths += ["/selection/joint", "/meetings"]
    if user.is_admin or user.is_secretariat:
        paths.append("/audit")
    return paths


def test_past_events_carry_their_instants():
    """The demo replays the past through the operations at the instants it happened: the
    rows, audit entries and emails they wrote are dated then, not at seeding."""
    seed_demo()
    fifth = _one(Meeting, number=5)
    adoption = _one(Decision, meeting_id=fifth.id, kind=DecisionKind.adopt_project_list)
    assert adoption.adopted_at.date() == date(2021, 7, 14)
    assert {a.approved_at.date() for a in adoption.approvals} == {date(2021, 7, 14)}
    for project in db.session.scalars(sa.select(Project).filter_by(decision_id=adoption.id)):
        assert project.start_date == date(2021, 7, 14)
        assert project.created_at.date() == date(2021, 7, 14)

    call = _one(Call, reference="CN-BE-2021")
    proposals = db.session.scalars(sa.select(Proposal).filter_by(call_id=call.id)).all()
    for proposal in proposals:
        assert call.opens_at <= proposal.created_at < proposal.submitted_at < call.closes_at
        receipts = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"receipt-{proposal.id}-%"))).all()
        assert receipts and {m.created_at for m in receipts} == {proposal.submitted_at}
    submissions = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "proposal.submit",
        AuditEntry.object_id.in_([p.id for p in proposals]))).all()
    assert submissions and all(e.created_at.year == 2021 for e in submissions)
    reviews = db.session.scalars(sa.select(Review).join(Assignment).join(Proposal).where(
        Proposal.call_id == call.id, Review.state == ReviewState.submitted)).all()
    assert reviews and all(r.submitted_at <= call.review_due_at for r in reviews)


def test_only_code_replays_time():
    """frozen_time() is entered by the demo loader only, never from a request or a task."""
    root = Path(__file__).resolve().parents[1]
    users = {p.relative_to(root).as_posix() for folder in ("cfp", "workers")
             for p in (root / folder).rglob("*.py") if "frozen_time" in p.read_text("utf-8")}
    assert users == {"cfp/core/types.py", "cfp/demo/__init__.py"}
    past = datetime(2021, 7, 14, 8, 30, tzinfo=UTC)
    with frozen_time(past):
        assert utcnow() == past
    assert utcnow() > past
