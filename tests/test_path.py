"""The whole path through the web UI, one role at a time: call → joint proposal →
eligibility → review → rankings → meeting, decision, adopted project list."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from cfp.calls.models import Call, CallState
from cfp.core.audit import AuditEntry
from cfp.core.outbox import MessageStatus, OutboxMessage
from cfp.core.roles import Role
from cfp.core.timezones import to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.meetings.models import Decision, DecisionState
from cfp.projects.models import Project
from cfp.proposals.models import Proposal, ProposalState
from cfp.reviews.models import Assignment, RankingEntry
from cfp.selection.models import ProjectList, ProjectListState
from tests import factories as f


def local(instant, tz):
    return to_zone(instant, tz).strftime("%Y-%m-%dT%H:%M")


def follow_verification_link(client, email):
    message = db.session.scalar(sa.select(OutboxMessage).filter_by(template="verify_email", recipient=email))
    path = re.search(r"http://localhost(/verify-email/\S+)", message.body).group(1)
    assert client.get(path).status_code in (200, 302)


def call_form(cn, be, *, opens, closes, tz="Asia/Shanghai"):
    data = {
        "reference": "CN-BE-2031", "title": "Joint call 2031", "description": "Bilateral call",
        "instrument": "joint_research", "stages": "single", "timezone": tz,
        "opens_at": local(opens, tz), "closes_at": local(closes, tz), "review_due_at": "",
        "duration_months": "24", "priority_areas": "Advanced materials\nHealth",
        "scale_max": "5", "scale_step": "0.5", "overall_threshold": "3",
        "criteria-0-name": "Excellence", "criteria-0-weight": "3", "criteria-0-threshold": "",
        "criteria-1-name": "Impact", "criteria-1-weight": "1", "criteria-1-threshold": "",
        "criteria-2-name": "", "criteria-2-weight": "", "criteria-2-threshold": "",
        "criteria-3-name": "", "criteria-3-weight": "", "criteria-3-threshold": "",
    }
    for prefix, envelope, cap in (("side_a", "1000000", "300000"), ("side_b", "100000", "30000")):
        data.update({
            f"{prefix}-budget_envelope": envelope, f"{prefix}-max_request": cap,
            f"{prefix}-per_diem": "", f"{prefix}-travel_cap": "", f"{prefix}-reviewers_per_proposal": "1",
            f"{prefix}-eligibility_rules": "PI holds a PhD", f"{prefix}-required_documents": "CV of the PI",
        })
    return data


def test_the_whole_path(app, client):
    cn, be, _committee = f.world()
    staff_cn = f.user(Role.staff, agency=cn, name="Staff MOST")
    staff_be = f.user(Role.staff, agency=be, name="Staff WBI")
    secretariat = f.user(Role.secretariat, name="Secretary")
    rev_cn = f.reviewer(cn, name="Reviewer CN")
    rev_be = f.reviewer(be, name="Reviewer BE")

    # 1. CN staff draft a call; BE staff approve; it opens at its opening instant.
    f.login(client, staff_cn)
    opens = utcnow() - timedelta(minutes=5)
    closes = utcnow() + timedelta(days=20)
    response = client.post("/calls/new", data=call_form(cn, be, opens=opens, closes=closes))
    assert response.status_code == 302, response.data.decode()[:3000]
    call = db.session.scalar(sa.select(Call).filter_by(reference="CN-BE-2031"))
    assert call.state == CallState.draft
    assert call.closes_at.replace(second=0, microsecond=0) == closes.replace(second=0, microsecond=0)
    page = client.get(f"/calls/{call.id}").data.decode()
    assert "Asia/Shanghai" in page and "Europe/Brussels" in page
    client.post("/logout")
    f.login(client, staff_be)
    assert client.post(f"/calls/{call.id}/approve").status_code == 302
    db.session.refresh(call)
    assert call.state == CallState.open  # opening instant already passed
    client.post("/logout")

    # 2. A researcher registers, starts a joint proposal, invites the partner.
    response = client.post("/register", data={
        "name": "Li Wei", "name_original": "李伟", "email": "li.wei@tsinghua.example",
        "agency_id": cn.id, "affiliation": "Tsinghua University",
        "password": "a long password", "confirm": "a long password",
    })
    assert response.status_code == 302
    client.post("/login", data={"email": "li.wei@tsinghua.example", "password": "a long password"})
    follow_verification_link(client, "li.wei@tsinghua.example")
    response = client.post(f"/proposals/new/{call.id}", data={
        "title": "Perovskite tandem cells", "acronym": "PEROTAN", "abstract": "Joint work on perovskites.",
        "keywords": "perovskite, photovoltaics", "priority_area_id": call.priority_areas[0].id,
        "duration_months": "24", "institution_a": "Tsinghua University", "amount_a": "250000",
        "institution_b": "", "amount_b": "25000",
    })
    assert response.status_code == 302
    proposal = db.session.scalar(sa.select(Proposal).filter_by(acronym="PEROTAN"))
    assert client.post(f"/proposals/{proposal.id}/invite", data={"email": "anne.dupont@uclouvain.example"}).status_code == 302
    invitation = db.session.scalar(sa.select(OutboxMessage).filter_by(template="partner_invitation"))
    assert invitation.status == MessageStatus.sent  # delivered by the (eager) task after commit
    link = re.search(r"http://localhost(/proposals/join/\S+)", invitation.body).group(1)
    client.post("/logout")

    # The partner follows the link, registers, joins as the other side's PI.
    response = client.get(link)
    assert response.status_code == 302 and "/login" in response.location
    client.post("/register", data={
        "name": "Anne Dupont", "email": "anne.dupont@uclouvain.example", "agency_id": be.id,
        "affiliation": "UCLouvain", "password": "another long one", "confirm": "another long one",
    })
    client.post("/login", data={"email": "anne.dupont@uclouvain.example", "password": "another long one"})
    follow_verification_link(client, "anne.dupont@uclouvain.example")
    assert client.post(link).status_code == 302
    db.session.refresh(proposal)
    assert proposal.both_pis_present

    # Each PI uploads their side's required document (a real PDF).
    for email, password in (("anne.dupont@uclouvain.example", None), ("li.wei@tsinghua.example", "a long password")):
        if password:
            client.post("/logout")
            client.post("/login", data={"email": email, "password": password})
        side = be if email.startswith("anne") else cn
        response = client.post(f"/proposals/{proposal.id}/documents/{side.id}", data={
            "kind": "CV of the PI", "file": (io.BytesIO(f.pdf_bytes(2)), "cv.pdf")})
        assert response.status_code == 302
    client.post("/logout")
    client.post("/login", data={"email": "anne.dupont@uclouvain.example", "password": "another long one"})
    db.session.refresh(proposal)
    assert len(proposal.documents) == 2

    # 3. Both PIs confirm; submission gives the reference; both get a receipt.
    assert client.post(f"/proposals/{proposal.id}/confirm", data={"version": proposal.version, "agree": "y"}).status_code == 302
    client.post("/logout")
    client.post("/login", data={"email": "li.wei@tsinghua.example", "password": "a long password"})
    client.post(f"/proposals/{proposal.id}/confirm", data={"version": proposal.version, "agree": "y"})
    response = client.post(f"/proposals/{proposal.id}/submit")
    assert response.status_code == 302
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.submitted
    assert proposal.reference == "CN-BE-2031-001"
    receipts = db.session.scalars(sa.select(OutboxMessage).filter_by(template="submission_receipt")).all()
    assert sorted(m.recipient for m in receipts) == ["anne.dupont@uclouvain.example", "li.wei@tsinghua.example"]
    assert all("CN-BE-2031-001" in m.subject for m in receipts)
    client.post("/logout")

    # 4. Staff of each side mark their side's eligibility.
    for staff, agency in ((staff_cn, cn), (staff_be, be)):
        f.login(client, staff)
        assert client.post(f"/proposals/{proposal.id}/eligibility/{agency.id}", data={"decision": "eligible"}).status_code == 302
        client.post("/logout")
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.eligible

    # Call closes (beat task), then 5. staff assign reviewers of their side.
    from workers.calls import open_and_close_calls

    call.closes_at = utcnow() - timedelta(seconds=1)
    call.opens_at = utcnow() - timedelta(days=1)
    db.session.commit()
    open_and_close_calls.delay()
    db.session.refresh(call)
    assert call.state == CallState.closed
    due = local(utcnow() + timedelta(days=10), "UTC")
    for staff, reviewer in ((staff_cn, rev_cn), (staff_be, rev_be)):
        staff.timezone = "UTC"
        db.session.commit()
        f.login(client, staff)
        response = client.post(f"/reviews/assign/{proposal.id}", data={"reviewer_id": reviewer.id, "due_at": due})
        assert response.status_code == 302, response.data.decode()[:2000]
        client.post("/logout")
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.in_review

    # Reviewers accept, declare no conflict, score, submit.
    scores = {("Reviewer CN"): ("4.5", "4"), ("Reviewer BE"): ("4", "3.5")}
    for reviewer in (rev_cn, rev_be):
        assignment = db.session.scalar(sa.select(Assignment).filter_by(reviewer_id=reviewer.id))
        f.login(client, reviewer)
        page = client.get(f"/reviews/assignments/{assignment.id}").data.decode()
        # The invitation shows what the proposal is about, not yet its plan or budgets.
        assert proposal.abstract in page and "Mobility plan" not in page
        client.post(f"/reviews/assignments/{assignment.id}/answer", data={"accept": "Accept"})
        client.post(f"/reviews/assignments/{assignment.id}/interests", data={"conflict": "no"})
        page = client.get(f"/reviews/assignments/{assignment.id}").data.decode()
        assert proposal.abstract in page and "Mobility plan" in page  # the whole proposal
        crit = {c.name: c.id for c in call.criteria}
        s_exc, s_imp = scores[reviewer.name]
        response = client.post(f"/reviews/assignments/{assignment.id}/review", data={
            f"score_{crit['Excellence']}": s_exc, f"score_{crit['Impact']}": s_imp,
            "comments_to_applicants": "Strong joint team.", "confidential_comments": "",
            "recommendation": "fund", "submit": "submit",
        })
        assert response.status_code == 302, response.data.decode()[:3000]
        client.post("/logout")
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.reviewed

    # 6. Each side's staff see their side's ranking; the secretariat both.
    entries = db.session.scalars(sa.select(RankingEntry).filter_by(call_id=call.id)).all()
    means = {e.agency_id: str(e.mean_score) for e in entries}
    assert means == {cn.id: "4.375", be.id: "3.875"}  # (3*4.5+4)/4 and (3*4+3.5)/4
    f.login(client, staff_cn)
    page = client.get(f"/reviews/ranking/{call.id}").data.decode()
    assert "4.375" in page and "3.875" not in page
    client.post("/logout")
    f.login(client, secretariat)
    page = client.get(f"/selection/joint/{call.id}").data.decode()
    # combined: mean of the sides' scores normalised by the 0–5 scale, (4.375/5 + 3.875/5)/2
    assert "4.375" in page and "3.875" in page and "0.8250" in page

    # 7. Meeting, agenda item, decision; list adopted; projects with stable codes.
    client.post("/meetings", data={"number": "5", "date": "2021-07-14", "date_note": "",
                                             "mode": "video", "host_agency_id": be.id, "city": "", "status": "held"})
    from cfp.meetings.models import Meeting

    meeting = db.session.scalar(sa.select(Meeting).filter_by(number=5))
    client.post(f"/meetings/{meeting.id}/attendees", data={"agency_id": cn.id, "name": "Zhao Jing", "is_cochair": "y"})
    client.post(f"/meetings/{meeting.id}/attendees", data={"agency_id": be.id, "name": "Christian Carette", "is_cochair": "y"})
    client.post(f"/meetings/{meeting.id}/items", data={"title": "Inter-governmental projects"})
    item = meeting.agenda_items[-1]
    client.post(f"/meetings/{meeting.id}/decisions", data={
        "agenda_item_id": item.id, "kind": "adopt_project_list", "title": "Adopt the projects", "text": ""})
    decision = db.session.scalar(sa.select(Decision).filter_by(meeting_id=meeting.id))
    assert decision.number == "5.2"  # under agenda item 2 (item 1 adopts the agenda)
    assert client.post(f"/selection/joint/outcome/{proposal.id}", data={"outcome": "recommended"}).status_code == 302
    client.post(f"/selection/calls/{call.id}/lists")
    plist = db.session.scalar(sa.select(ProjectList).filter_by(call_id=call.id))
    assert [e.proposal_id for e in plist.entries] == [proposal.id]
    entry = plist.entries[0]
    form = {f"amount-{entry.id}-{cn.id}-1": "120000", f"amount-{entry.id}-{cn.id}-2": "130000",
            f"amount-{entry.id}-{be.id}-1": "12000", f"amount-{entry.id}-{be.id}-2": "13000",
            "reason": "Second year carries the field work"}  # a changed amount needs a reason
    assert client.post(f"/selection/lists/{plist.id}", data=form).status_code == 302
    client.post(f"/selection/lists/{plist.id}/propose")
    client.post(f"/meetings/decisions/{decision.id}/attach", data={"project_list_id": plist.id})
    assert client.post(f"/meetings/decisions/{decision.id}/record").status_code == 302
    db.session.refresh(decision)
    assert decision.state == DecisionState.adopted
    db.session.refresh(plist)
    assert plist.state == ProjectListState.adopted and plist.decision_id == decision.id
    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=proposal.id))
    assert project.code == "S5-CN-BE-2031-01"
    assert sorted((a.agency_id, a.year, str(a.amount)) for a in project.allocations) == sorted(
        [(cn.id, 1, "120000.00"), (cn.id, 2, "130000.00"), (be.id, 1, "12000.00"), (be.id, 2, "13000.00")])
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.funded
    # The chain is reachable in the UI: decision → project → proposal.
    page = client.get(f"/meetings/decisions/{decision.id}").data.decode()
    assert project.code in page
    page = client.get(f"/projects/{project.id}").data.decode()
    assert proposal.reference in page and "5.2" in page

    # Both PIs get their result once the secretariat releases the letters.
    letters = db.session.scalars(sa.select(OutboxMessage).filter_by(template="decision_letter")).all()
    assert len(letters) == 2 and all(m.status == MessageStatus.held for m in letters)
    client.post(f"/meetings/decisions/{decision.id}/release")
    client.post(f"/meetings/decisions/{decision.id}/release")
    for m in letters:
        db.session.refresh(m)
        assert m.status == MessageStatus.sent and m.attempts == 1
        assert project.code in m.body

    # Every step wrote the audit log.
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    for action in ("call.draft", "call.approved", "call.open", "call.close", "proposal.start",
                   "proposal.invite_partner", "proposal.join", "proposal.confirm", "proposal.submit",
                   "eligibility.decide", "assignment.create", "assignment.answer", "assignment.no_conflict",
                   "review.submit", "meeting.create", "decision.draft", "proposal.outcome",
                   "project_list.draft", "project_list.propose", "decision.adopted", "project.create",
                   "decision.release_letters"):
        assert action in actions, action
