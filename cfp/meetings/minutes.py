"""The minutes of a meeting as a PDF: delegations, agenda, decisions and, as annex,
the project lists the meeting adopted. Text containing Chinese characters is set in
reportlab's built-in CID font STSong-Light; everything else in Helvetica (which covers
French accents)."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from xml.sax.saxutils import escape

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from cfp.extensions import db
from cfp.meetings.models import Decision, Meeting
from cfp.meetings.operations import previous_meeting, projects_adopted_at, written_decisions
from cfp.projects.models import Project
from cfp.selection.models import EntryKind, ProjectList

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
CJK_FONT = "STSong-Light"


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _text(value) -> str:
    """Escaped paragraph markup; runs of CJK characters switch to the CID font."""
    out, last = [], 0
    text = str(value)
    for m in re.finditer(CJK.pattern + "+", text):
        out.append(escape(text[last:m.start()]))
        out.append(f'<font name="{CJK_FONT}">{escape(m.group(0))}</font>')
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


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
    """The PDF, cached in the instance folder until the meeting's content changes."""
    folder = Path(current_app.instance_path) / "minutes"
    path = folder / f"meeting-{meeting.id}-{cache_key(meeting)}.pdf"
    if path.exists():
        return path.read_bytes()
    data = build_minutes(meeting)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"meeting-{meeting.id}-*.pdf"):
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

    _fonts()
    styles = getSampleStyleSheet()
    body, h1, h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    story = []

    def p(text, style=body):
        story.append(Paragraph(_text(text), style))

    p(_("Minutes of the %(title)s of the %(committee)s", title=meeting.title, committee=meeting.committee.name), h1)
    when = meeting.date.isoformat() if meeting.date else meeting.date_note
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
            prefix = _("Co-chair") + ": " if a.is_cochair else ""
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
            pis = "; ".join(
                f"{s.pi.name}{' (' + s.pi.name_original + ')' if getattr(s.pi, 'name_original', None) else ''}, {s.institution}"
                for s in proposal.sides if s.pi is not None)
            cells = [project.code if project else "—", proposal.title, pis,
                     EntryKind(entry.kind).label]
            cells += [f"{entry.amount_for(a):,.2f}" for a in agencies]
            rows.append([Paragraph(_text(c), small) for c in cells])
        table = Table(rows, repeatRows=1, colWidths=[30 * mm, 45 * mm, 50 * mm, 15 * mm] + [20 * mm] * len(agencies))
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(Spacer(1, 4 * mm))
        story.append(table)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=meeting.title, leftMargin=15 * mm, rightMargin=15 * mm)
    doc.build(story)
    return buffer.getvalue()
