"""After adoption: reports are reminded once each before and after their due date (a
beat task), and the decision that renews, stops or completes a project is kept on it."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.meetings.models import DecisionKind
from cfp.meetings.operations import draft_written_decision
from cfp.projects.models import ProjectStatus, ReportKind, ReportState
from cfp.projects.operations import decide_project, remind_reports, submit_report
from tests import factories as f
from tests.selection.test_second_round import round_one  # noqa: F401  (the fixture)
from workers.projects import send_report_reminders


def _project(w):
    from cfp.projects.models import Project

    return db.session.scalar(sa.select(Project).filter_by(proposal_id=w["a"].id))


def _reminders(report):
    return db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"report-%-{report.id}-%"))).all()


def test_a_report_is_reminded_once_before_and_once_after_its_due_date(round_one):  # noqa: F811
    project = _project(round_one)
    interim = next(r for r in project.reports if r.kind == ReportKind.interim)
    today = utcnow().date()
    interim.due_on = today + timedelta(days=10)
    db.session.commit()
    assert send_report_reminders.delay().get() == 2  # both PIs, 30 days ahead at most
    assert send_report_reminders.delay().get() == 0  # the beat runs again: nothing twice
    before = _reminders(interim)
    assert len(before) == 2 and all("due on" in m.body for m in before)

    interim.due_on = today - timedelta(days=2)
    db.session.commit()
    assert remind_reports(today) == 2 and remind_reports(today) == 0
    db.session.commit()
    assert len(_reminders(interim)) == 4
    submit_report(project.proposal.sides[0].pi, project, ReportKind.interim, "Year one went well.")
    interim.due_on = today - timedelta(days=40)
    assert remind_reports(today) == 0  # submitted: no more reminders


def test_the_decision_that_renews_a_project_is_kept_on_it(client, round_one):  # noqa: F811
    w = round_one
    project = _project(w)
    submit_report(project.proposal.sides[0].pi, project, ReportKind.interim, "Year one went well.")
    renewal = draft_written_decision(w["secretariat"], w["committee"], kind=DecisionKind.other,
                                     title="Renew the 2021 projects for their second year")
    for agency in w["committee"].agencies:
        from cfp.meetings.operations import approve_decision

        approve_decision(f.user(Role.cochair, agency=agency), renewal)
    decide_project(w["secretariat"], project, renewal, ProjectStatus.renewed)
    db.session.commit()
    assert project.status == ProjectStatus.renewed and project.status_decision_id == renewal.id
    assert next(r for r in project.reports if r.kind == ReportKind.interim).state == ReportState.accepted
    f.login(client, w["secretariat"])
    page = client.get(f"/projects/{project.id}").data.decode()
    assert f"decision {renewal.number}" in page


def test_a_report_carries_a_pdf_attachment_that_its_readers_download(client, round_one):  # noqa: F811
    import io

    w = round_one
    project = _project(w)
    pi = project.proposal.sides[0].pi
    db.session.commit()
    f.login(client, pi)
    refused = client.post(f"/projects/{project.id}/reports", data={
        "kind": "interim", "text": "Year one went well.",
        "attachment": (io.BytesIO(b"not a pdf at all"), "annex.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "not a PDF" in refused.data.decode()
    interim = next(r for r in project.reports if r.kind == ReportKind.interim)
    db.session.refresh(interim)
    assert interim.state == ReportState.due  # nothing submitted, the reason shown
    response = client.post(f"/projects/{project.id}/reports", data={
        "kind": "interim", "text": "Year one went well.",
        "attachment": (io.BytesIO(f.pdf_bytes(2)), "annex year 1.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.refresh(interim)
    assert interim.state == ReportState.submitted and interim.attachment_name == "annex year 1.pdf"
    url = f"/projects/{project.id}/reports/{interim.id}/attachment"
    assert url in client.get(f"/projects/{project.id}").data.decode()
    with client.get(url) as got:
        assert got.status_code == 200 and got.mimetype == "application/pdf"
        assert got.get_data().startswith(b"%PDF-")
    client.post("/logout")
    f.login(client, w["secretariat"])
    with client.get(url) as got:
        assert got.status_code == 200
    client.post("/logout")
    f.login(client, f.user(Role.researcher, agency=w["cn"]))
    assert client.get(url).status_code == 404
