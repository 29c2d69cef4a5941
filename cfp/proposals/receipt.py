"""The PDF of what was submitted, built with reportlab from the submitted version's
snapshot. Chinese text (names in the original script) is set in the font embedded by
cfp.core.pdf."""
from __future__ import annotations

import io

from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cfp.core.pdf import markup
from cfp.core.timezones import format_instant
from cfp.proposals.history import _flatten
from cfp.proposals.models import Proposal


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    """Latin text in the style's font; any CJK run in the embedded CJK font."""
    return Paragraph(markup(text), style)


def submitted_pdf(proposal: Proposal, snapshot: dict, timezone: str | None = None) -> bytes:
    styles = getSampleStyleSheet()
    body, title = styles["BodyText"], styles["Title"]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            title=f"{proposal.reference} — {snapshot.get('title', '')}",
                            author="cfp")
    story = [
        _para(_("Submitted proposal %(ref)s", ref=proposal.reference), title),
        _para(_("Call %(call)s — submitted %(when)s", call=proposal.call.reference,
                when=format_instant(proposal.submitted_at, timezone)), body),
        Spacer(1, 4 * mm),
    ]
    names = {a.id: a.short_name for a in proposal.call.agencies}
    pis = [[_para(_("PI (%(side)s)", side=names.get(int(aid), aid)), body), _para(side.get("pi", ""), body)]
           for aid, side in sorted((snapshot.get("sides") or {}).items())]
    rows = pis + [[_para(label, body), _para(text, body)] for label, text, _long in _flatten(proposal, snapshot)]
    table = Table(rows, colWidths=[45 * mm, 129 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, "#cccccc")]))
    story.append(table)
    doc.build(story)
    return buffer.getvalue()
