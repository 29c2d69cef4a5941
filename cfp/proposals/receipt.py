"""The PDF of what was submitted, built with reportlab from the submitted version's
snapshot. Chinese text (names in the original script) is set in the font embedded by
cfp.core.pdf. A typical proposal fits one A4 page: 9 pt text, tight rows, and the budget
as a small table per side (category by year, with totals) in the side's currency."""
from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cfp.core.languages import money
from cfp.core.pdf import markup, numbered_canvas
from cfp.core.timezones import format_instant
from cfp.proposals.history import _flatten
from cfp.proposals.models import Proposal
from cfp.proposals.vocabulary import BUDGET_CATEGORIES

LABEL_WIDTH, VALUE_WIDTH = 38 * mm, 136 * mm


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    """Latin text in the style's font; any CJK run in the embedded CJK font."""
    return Paragraph(markup(text), style)


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    body = ParagraphStyle("receipt-body", parent=sheet["BodyText"], fontSize=9, leading=11, spaceBefore=0, spaceAfter=0)
    label = ParagraphStyle("receipt-label", parent=body, fontName="Helvetica-Bold")
    number = ParagraphStyle("receipt-number", parent=body, alignment=TA_RIGHT)
    title = ParagraphStyle("receipt-title", parent=sheet["Title"], fontSize=15, leading=18, spaceAfter=2)
    return body, label, number, title


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _budget(proposal: Proposal, snapshot: dict, styles) -> list[list]:
    """One row per side: its costs by category and year, with totals, in its currency."""
    body, label, number, _title = styles
    lines = snapshot.get("budget_lines") or []
    rows = []
    for agency in proposal.call.agencies:
        mine = [b for b in lines if int(b["agency_id"]) == agency.id]
        if not mine:
            continue
        years = sorted({int(b["year"]) for b in mine})
        cells: dict[str, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for b in mine:
            cells[b["category"]][int(b["year"])] += _decimal(b["amount"])

        def cash(value, currency=agency.currency):
            return _para(money(value, currency), number)

        head = [_para(_("Category"), label)] + [_para(_("Year %(y)s", y=y), number) for y in years] \
            + [_para(_("Total"), number)]
        grid = [head]
        for category, by_year in cells.items():
            grid.append([_para(BUDGET_CATEGORIES.label(category), body)]
                        + [cash(by_year.get(y, Decimal(0))) for y in years] + [cash(sum(by_year.values(), Decimal(0)))])
        grid.append([_para(_("Total"), label)]
                    + [cash(sum((c.get(y, Decimal(0)) for c in cells.values()), Decimal(0))) for y in years]
                    + [cash(sum((sum(c.values(), Decimal(0)) for c in cells.values()), Decimal(0)))])
        amount_width = (VALUE_WIDTH - 46 * mm) / (len(years) + 1)
        table = Table(grid, colWidths=[46 * mm] + [amount_width] * (len(years) + 1))
        table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 0.5, "#888888"),
                                   ("LINEABOVE", (0, -1), (-1, -1), 0.5, "#888888"),
                                   ("TOPPADDING", (0, 0), (-1, -1), 0.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))
        rows.append([_para(_("Budget of %(side)s (%(currency)s)", side=agency.short_name, currency=agency.currency), label),
                     table])
    return rows


def submitted_pdf(proposal: Proposal, snapshot: dict, timezone: str | None = None) -> bytes:
    styles = _styles()
    body, label, _number, title = styles
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=14 * mm, bottomMargin=14 * mm,
                            title=f"{proposal.reference} — {snapshot.get('title', '')}",
                            author="cfp")
    story = [
        _para(_("Submitted proposal %(ref)s", ref=proposal.reference), title),
        _para(_("Call %(call)s — submitted %(when)s", call=proposal.call.reference,
                when=format_instant(proposal.submitted_at, timezone)), body),
        Spacer(1, 3 * mm),
    ]
    names = {a.id: a.short_name for a in proposal.call.agencies}
    pis = [[_para(_("PI (%(side)s)", side=names.get(int(aid), aid)), label), _para(side.get("pi", ""), body)]
           for aid, side in sorted((snapshot.get("sides") or {}).items())]
    budget_label = _("Budget")
    rows = pis
    for text_label, text, _long in _flatten(proposal, snapshot):
        if text_label == budget_label:
            rows += _budget(proposal, snapshot, styles)
        else:
            rows.append([_para(text_label, label), _para(text, body)])
    table = Table(rows, colWidths=[LABEL_WIDTH, VALUE_WIDTH])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, "#cccccc")]))
    story.append(table)
    doc.build(story, canvasmaker=numbered_canvas(_("Page %s of %s")))
    return buffer.getvalue()
