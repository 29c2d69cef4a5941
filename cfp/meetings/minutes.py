"""The minutes of a meeting as a PDF: delegations, agenda, decisions, the co-chairs'
signatures and, as annex, the project lists the meeting adopted; numbered pages.
Chinese text is set in a font embedded in the file (cfp.core.pdf); everything else in
Helvetica (which covers French accents)."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from cfp.core.languages import day, number
from cfp.core.pdf import markup as _text
from cfp.core.pdf import numbered_canvas
from cfp.extensions import db
from cfp.meetings.models import Decision, Meeting
from cfp.meetings.operations import previous_meeting, projects_adopted_at, written_decisions
from cfp.projects.models import Project
from cfp.selection.models import EntryKind, ProjectList


def cache_key(meeting: Meeting) -> str:
    """Changes whenever anything the minutes show changes."""
    parts = [meeting.updated_at, len(meeting.attendees), len(meeting.agenda_items)]
    parts += [(a.id, a.name, a.name_original, a.title, a.organisation) for a in meeting.attendees]
    parts += [(i.id, i.title) for i in meeting.agenda_items]
    parts += db.session.execute(sa.select(Decision.id, Decision.updated_at).where(sa.or_(
        Decision.meeting_id == meeting.id, Decision.reported_at_meeting_id == meeting.id))
        .order_by(Decision.id)).all()
    parts += db.session.execute(sa.select(Project.id, Project.status).join(Decision, Project.decision_id == Decision.id)
                                .where(Decision.meeting_id == meeting.id).order_by(Project.id)).all()
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def minutes_pdf(meeting: Meeting) -> bytes:
    """The PDF in the current language (the viewer's; a worker's default, English),
    cached in the instance folder, one file per language, until the meeting's content
    changes."""
    folder = Path(current_app.instance_path) / "minutes"
    key = cache_key(meeting)
    path = folder / f"meeting-{meeting.id}-{key}-{get_locale() or 'en'}.pdf"
    if path.exists():
        return path.read_bytes()
    data = build_minutes(meeting)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"meeting-{meeting.id}-*.pdf"):
        if not old.name.startswith(f"meeting-{meeting.id}-{key}-"):  # the content changed
            old.unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def build_minutes(meeting: Meeting) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    body, h1, h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    story = []

    def p(text, style=body):
        story.append(Paragraph(_text(text), style))

    p(_("Minutes of the %(title)s of the %(committee)s", title=meeting.title, committee=meeting.committee.name), h1)
    when = day(meeting.date, "long") if meeting.date else meeting.date_note
    where = ", ".join(str(x) for x in [meeting.mode.label, meeting.host_agency.short_name if meeting.host_agency else "",
                                       meeting.city] if x)
    p(f"{when} · {where} · {meeting.status.label}")

    p(_("Delegations"), h2)
    for agency in meeting.committee.agencies:
        p(f"{agency.short_name} ({agency.country})", styles["Heading4"])
        for a in meeting.attendees:
            if a.agency_id != agency.id:
                continue
            name = a.name + (f" ({a.name_original})" if a.name_original else "")
            details = ", ".join(x for x in [a.title, a.organisation] if x)
            prefix = _("Co-chair:") + " " if a.is_cochair else ""
            p(f"{prefix}{name}" + (f", {details}" if details else ""))

    p(_("Agenda and decisions"), h2)
    previous = previous_meeting(meeting)
    for item in meeting.agenda_items:
        p(f"{item.label}  {item.title}", styles["Heading4"])
        if item.notes:
            p(item.notes)
        if item.standing_report:
            for project in projects_adopted_at(previous):
                p(f"{project.code} — {project.proposal.title} — {project.status.label}")
        for d in item.decisions:
            p(_("Decision %(n)s (%(kind)s, %(state)s): %(title)s", n=d.number, kind=d.kind.label,
                state=d.state.label, title=d.title))
            if d.text:
                p(d.text)
    reported = written_decisions(meeting)
    if reported:
        p(_("Decisions taken by written procedure since the previous meeting"), h2)
        for d in reported:
            p(_("Decision %(n)s (%(kind)s, %(state)s): %(title)s", n=d.number, kind=d.kind.label,
                state=d.state.label, title=d.title))

    story.extend(_signatures(meeting, styles))

    lists = db.session.scalars(sa.select(ProjectList).join(Decision, ProjectList.decision_id == Decision.id)
                               .where(Decision.meeting_id == meeting.id).order_by(ProjectList.id)).all()
    projects = {pr.proposal_id: pr for pr in projects_adopted_at(meeting)}
    for plist in lists:
        story.append(PageBreak())
        p(_("Annex: project list %(ref)s, version %(v)s (decision %(n)s)", ref=plist.call.reference,
            v=plist.version, n=plist.decision.number), h2)
        agencies = plist.call.agencies
        header = [_("Code"), _("Title"), _("Principal investigators"), _("List")]
        header += [f"{a.short_name} ({plist.call.side(a.id).currency})" for a in agencies]
        rows = [[Paragraph(_text(h), small) for h in header]]
        for entry in plist.entries:
            proposal = entry.proposal
            project = projects.get(proposal.id)
            pis = "; ".join(f"{s.pi_display_name}, {s.institution}"
                            for s in proposal.sides if s.pi is not None or s.pi_name)
            cells = [project.code if project else "—", proposal.title, pis,
                     EntryKind(entry.kind).label]
            cells += [number(entry.amount_for(a), 2) for a in agencies]
            rows.append([Paragraph(_text(c), small) for c in cells])
        table = Table(rows, repeatRows=1, colWidths=[30 * mm, 45 * mm, 50 * mm, 15 * mm] + [20 * mm] * len(agencies))
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(Spacer(1, 4 * mm))
        story.append(table)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=meeting.title, leftMargin=15 * mm, rightMargin=15 * mm)
    doc.build(story, canvasmaker=numbered_canvas(_("Page %s of %s")))
    return buffer.getvalue()


def _signatures(meeting: Meeting, styles) -> list:
    """A block for each side's co-chair to sign, side by side."""
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

    cells = []
    for agency in meeting.committee.agencies:
        chair = next((a for a in meeting.cochairs if a.agency_id == agency.id), None)
        lines = [_("For %(side)s", side=agency.name)]
        if chair is not None:
            lines.append(chair.name + (f" ({chair.name_original})" if chair.name_original else ""))
            lines += [x for x in (chair.title, chair.organisation) if x]
        lines += ["", _("Signature:") + " ________________________", _("Date:") + " ________________"]
        cells.append([Paragraph(_text(line) or "&nbsp;", styles["BodyText"]) for line in lines])
    table = Table([cells], colWidths=[90 * mm] * len(cells))
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [Spacer(1, 10 * mm), KeepTogether([Paragraph(_text(_("Signed by the co-chairs")), styles["Heading2"]),
                                              table])]
