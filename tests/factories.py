"""Factories the tests call: each builds real rows through the models, flushed
but not committed (the test's transaction is rolled back at the end)."""
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from cfp.auth.models import User
from cfp.calls.models import (
    Agency,
    Agreement,
    Call,
    CallSide,
    CallState,
    JointCommittee,
    PriorityArea,
    ReviewCriterion,
)
from cfp.core.jobs import Job
from cfp.core.outbox import MessageStatus, OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.meetings.models import (
    AgendaItem,
    Decision,
    DecisionKind,
    Meeting,
    MeetingMode,
    MeetingStatus,
)
from cfp.projects.models import Project
from cfp.proposals.models import (
    EligibilityCheck,
    EligibilityStatus,
    PartnerInvitation,
    Proposal,
    ProposalSide,
    ProposalState,
)
from cfp.proposals.operations import INVITATION_DAYS
from cfp.proposals.operations import _hash as _token_hash
from cfp.reviews.models import Assignment, AssignmentState, RankingEntry, ReviewerProfile
from cfp.selection.models import ProjectList, ProjectListEntry

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
_password_hash: str | None = None


def _hashed_password() -> str:
    """Hash once per run (argon2 is slow on purpose); every factory user shares it."""
    global _password_hash
    if _password_hash is None:
        probe = User()
        probe.set_password(PASSWORD)
        _password_hash = probe.password_hash
    return _password_hash


def world():
    """The two sides, their agreement and the Joint Committee."""
    cn = Agency(code="CN", short_name="MOST", name="Ministry of Science and Technology",
                country="China", currency="CNY", timezone="Asia/Shanghai", locale="zh_Hans")
    be = Agency(code="BE", short_name="WBI", name="Wallonia-Brussels International",
                country="Belgium", currency="EUR", timezone="Europe/Brussels", locale="fr")
    agreement = Agreement(title="Agreement on scientific and technological cooperation",
                          agency_a=cn, agency_b=be)
    committee = JointCommittee(agreement=agreement, name="China–Wallonia-Brussels Joint Committee")
    db.session.add_all([cn, be, agreement, committee])
    db.session.flush()
    return cn, be, committee


def user(*roles, agency=None, name=None, email=None, affiliation="University", **kw) -> User:
    n = next(_seq)
    kw.setdefault("email_verified_at", utcnow())
    u = User(email=email or f"user{n}@example.org", name=name or f"User {n}", agency=agency,
             affiliation=affiliation, **kw)
    u.password_hash = _hashed_password()
    for role in roles:
        sided = role in (Role.staff, Role.reviewer, Role.cochair)
        u.grant(role, agency if sided else None)
    db.session.add(u)
    db.session.flush()
    return u


def reviewer(agency, **kw) -> User:
    u = user(Role.reviewer, agency=agency, **kw)
    db.session.add(ReviewerProfile(user=u, agency_id=agency.id, keywords="materials, energy"))
    db.session.flush()
    return u


def call(committee, *, state=CallState.open, opens_at=None, closes_at=None, reference=None,
         criteria=(("Excellence", "2", None), ("Impact", "1", None)), overall_threshold=None,
         reviewers_per_proposal=1, duration_months=24) -> Call:
    now = utcnow()
    cn, be = committee.agencies
    c = Call(
        committee=committee, reference=reference or f"CN-BE-{2020 + next(_seq)}", title="Joint call",
        state=state, opens_at=opens_at or now - timedelta(days=10),
        closes_at=closes_at or now + timedelta(days=10), drafted_by_agency_id=cn.id,
        overall_threshold=Decimal(overall_threshold) if overall_threshold else None,
        duration_months=duration_months,
    )
    c.sides = [
        CallSide(agency_id=cn.id, currency="CNY", budget_envelope=Decimal(1000000), max_request=Decimal(300000),
                 reviewers_per_proposal=reviewers_per_proposal, approved_at=now),
        CallSide(agency_id=be.id, currency="EUR", budget_envelope=Decimal(100000), max_request=Decimal(30000),
                 reviewers_per_proposal=reviewers_per_proposal, approved_at=now),
    ]
    c.priority_areas = [PriorityArea(name="Materials", position=0), PriorityArea(name="Health", position=1)]
    c.criteria = [
        ReviewCriterion(name=name, weight=Decimal(w), position=i,
                        threshold=Decimal(t) if t is not None else None)
        for i, (name, w, t) in enumerate(criteria)
    ]
    db.session.add(c)
    db.session.flush()
    return c


def proposal(c: Call, pi_a: User, pi_b: User | None = None, *, state=ProposalState.draft,
             title="Perovskite solar cells", amounts=("200000", "20000")) -> Proposal:
    cn, be = c.agencies
    p = Proposal(call=c, title=title, acronym="PSC", abstract="We study perovskites.",
                 keywords="perovskite, solar", priority_area_id=c.priority_areas[0].id,
                 duration_months=24, created_by_id=pi_a.id, state=state)
    p.sides = [
        ProposalSide(agency_id=cn.id, pi_user_id=pi_a.id, institution="Tsinghua University",
                     requested_amount=Decimal(amounts[0])),
        ProposalSide(agency_id=be.id, pi_user_id=pi_b.id if pi_b else None, institution="UCLouvain",
                     requested_amount=Decimal(amounts[1])),
    ]
    db.session.add(p)
    db.session.flush()
    if state not in (ProposalState.draft, ProposalState.pre_proposal):
        c.submitted_count += 1
        p.reference = f"{c.reference}-{c.submitted_count:03d}"
        p.submitted_at = utcnow()
        status = EligibilityStatus.pending if state == ProposalState.submitted else EligibilityStatus.eligible
        for aid in (cn.id, be.id):
            db.session.add(EligibilityCheck(proposal_id=p.id, agency_id=aid, status=status))
        db.session.flush()
    return p


def assignment(p: Proposal, rev: User, *, state=AssignmentState.accepted, no_conflict=True, due_in_days=20):
    a = Assignment(proposal=p, reviewer=rev, agency_id=rev.agency_id, state=state,
                   due_at=utcnow() + timedelta(days=due_in_days),
                   no_conflict_declared_at=utcnow() if no_conflict else None)
    db.session.add(a)
    db.session.flush()
    return a


def meeting(committee, number=5, **kw) -> Meeting:
    m = Meeting(committee=committee, number=number, date=kw.pop("date_", date(2021, 7, 14)),
                mode=kw.pop("mode", MeetingMode.video), status=kw.pop("status", MeetingStatus.held),
                host_agency_id=kw.pop("host_agency_id", None), **kw)
    db.session.add(m)
    db.session.flush()
    return m


def decision(m: Meeting, *, kind=DecisionKind.adopt_project_list,
             title="Adopt the projects") -> Decision:
    """A draft decision under a new agenda item of the meeting."""
    item_number, decision_number = len(m.agenda_items) + 1, f"{m.number}.{len(m.decisions) + 1}"
    item = AgendaItem(meeting=m, number=item_number, title=title)
    d = Decision(committee_id=m.committee_id, meeting=m, agenda_item=item, kind=kind, title=title,
                 number=decision_number)
    db.session.add_all([item, d])
    db.session.flush()
    return d


def project_list(c: Call, proposals=(), **kw) -> ProjectList:
    plist = ProjectList(call=c, **kw)
    plist.entries = [ProjectListEntry(proposal=p, position=i) for i, p in enumerate(proposals)]
    db.session.add(plist)
    db.session.flush()
    return plist


def project(plist: ProjectList, d: Decision, p: Proposal, code=None) -> Project:
    pr = Project(proposal=p, decision=d, project_list=plist,
                 code=code or f"S{next(_seq)}-{p.reference}")
    db.session.add(pr)
    db.session.flush()
    return pr


def ranking_entry(c: Call, agency, p: Proposal, mean_score, *, rank=1, passed=True) -> RankingEntry:
    e = RankingEntry(call_id=c.id, agency_id=agency.id, proposal_id=p.id, reviews_count=1,
                     mean_score=Decimal(mean_score), rank=rank, passed=passed)
    db.session.add(e)
    db.session.flush()
    return e


def partner_invitation(p: Proposal, email: str, agency, invited_by: User) -> str:
    """An invitation to join `p` as PI of `agency`; returns the token of the link."""
    token = f"token-{next(_seq)}"
    db.session.add(PartnerInvitation(proposal_id=p.id, agency_id=agency.id, email=email,
                                     token_hash=_token_hash(token), invited_by_id=invited_by.id,
                                     expires_at=utcnow() + timedelta(days=INVITATION_DAYS)))
    db.session.flush()
    return token


def outbox_message(to: User, subject="A message", *, status=MessageStatus.sent) -> OutboxMessage:
    m = OutboxMessage(idempotency_key=f"test-{next(_seq)}", recipient=to.email,
                      recipient_user_id=to.id, template="test", subject=subject,
                      body=f"Dear {to.name}", status=status)
    db.session.add(m)
    db.session.flush()
    return m


def job(created_by: User, kind="ranking") -> Job:
    j = Job(kind=kind, created_by_id=created_by.id)
    db.session.add(j)
    db.session.flush()
    return j


def login(client, u: User):
    response = client.post("/login", data={"email": u.email, "password": PASSWORD})
    assert response.status_code == 302, response.data[:500]
    return response


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def pdf_bytes(pages: int = 1) -> bytes:
    """A real PDF of `pages` blank pages."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def document(p: Proposal, agency, kind: str, uploaded_by: User, *, pages: int = 1):
    """A document of one side of a proposal, its file written to the upload folder."""
    import hashlib
    import secrets
    from pathlib import Path

    from flask import current_app

    from cfp.proposals.models import ProposalDocument

    data = pdf_bytes(pages)
    stored = f"{secrets.token_hex(16)}.pdf"
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(data)
    d = ProposalDocument(proposal_id=p.id, agency_id=agency.id, kind=kind, original_name=f"{kind}.pdf",
                         stored_name=stored, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                         pages=pages, uploaded_by_id=uploaded_by.id)
    db.session.add(d)
    db.session.flush()
    return d
