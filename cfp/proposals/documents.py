"""Documents of a proposal, per side, from the call's checklist: PDF only (checked by
content), size and page limits, stored outside the web root under a generated name.
Writers here follow the operations' rules: they take the actor and never commit."""
from __future__ import annotations

import hashlib
import io
import os
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from cfp.core.aftercommit import after_commit, unless_committed
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalDocument
from cfp.proposals.operations import record_version
from cfp.proposals.pdf_checks import read_pdf


def upload_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def document_path(document: ProposalDocument) -> Path:
    return upload_folder() / document.stored_name


def size_limit(proposal: Proposal, agency_id: int) -> int:
    """The smallest of the app's upload limit and the call's limit for this side."""
    app_limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    side = proposal.call.side(agency_id)
    limits = [x for x in (app_limit, side.max_document_bytes if side else None) if x]
    return min(limits) if limits else 0


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} kB"


def upload_document(actor, proposal: Proposal, agency_id: int, kind: str, filename: str,
                    data: bytes) -> ProposalDocument:
    """Add or replace the document `kind` of one side. Only that side's PI, while draft."""
    side = proposal.pi_side(actor)
    if side is None or not proposal.can_edit(actor):
        raise NotAllowed(_("Documents can be changed only by a PI while the proposal is a draft."))
    if side.agency_id != agency_id:
        raise NotAllowed(_("Each PI uploads the documents of their own side."))
    call_side = proposal.call.side(agency_id)
    if call_side is None or kind not in (call_side.required_documents or []):
        raise DomainError(_("This document is not on the call's checklist."))
    limit = size_limit(proposal, agency_id)
    if not data:
        raise DomainError(_("The file is empty."))
    if limit and len(data) > limit:
        raise DomainError(_("The file is %(size)s; the limit is %(limit)s.",
                            size=human_size(len(data)), limit=human_size(limit)))
    pages = read_pdf(data)  # refuses what is not a PDF, or holds active content
    if call_side.max_document_pages and pages > call_side.max_document_pages:
        raise DomainError(_("The document has %(pages)s pages; at most %(limit)s are allowed.",
                            pages=pages, limit=call_side.max_document_pages))
    stored_name = f"{secrets.token_hex(16)}.pdf"
    path = upload_folder() / stored_name
    # Removed again if the transaction does not commit (nothing would refer to it); a
    # replaced or deleted file is removed once the change commits.
    path.write_bytes(data)
    unless_committed(lambda: path.unlink(missing_ok=True))
    old = next((d for d in proposal.documents if d.agency_id == agency_id and d.kind == kind), None)
    before = {"name": old.original_name, "sha256": old.sha256} if old else None
    if old is not None:
        _remove_after_commit(document_path(old))
        proposal.documents.remove(old)
        db.session.flush()
    document = ProposalDocument(
        proposal_id=proposal.id, agency_id=agency_id, kind=kind,
        original_name=safe_pdf_name(filename), stored_name=stored_name, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), pages=pages, uploaded_by_id=actor.id,
    )
    proposal.documents.append(document)
    db.session.flush()
    record_version(actor, proposal)
    log_action(actor, "proposal.document_upload", proposal, before=before,
               after={"kind": kind, "agency_id": agency_id, "name": document.original_name,
                      "pages": pages, "size": len(data), "sha256": document.sha256})
    return document


def delete_document(actor, proposal: Proposal, document: ProposalDocument) -> None:
    side = proposal.pi_side(actor)
    if side is None or not proposal.can_edit(actor) or side.agency_id != document.agency_id:
        raise NotAllowed(_("Documents can be changed only by their side's PI while the proposal is a draft."))
    _remove_after_commit(document_path(document))
    proposal.documents.remove(document)
    db.session.flush()
    record_version(actor, proposal)
    log_action(actor, "proposal.document_delete", proposal,
               before={"kind": document.kind, "agency_id": document.agency_id, "name": document.original_name})


def safe_pdf_name(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip() or "document.pdf"
    name = "".join(c for c in name if c.isprintable())
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    return name[-300:]


def _remove_after_commit(path: Path) -> None:
    after_commit(lambda: path.unlink(missing_ok=True))



def demo_pdf(title: str) -> bytes:
    """A one-page PDF with a title, for the demo data."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setFont("Helvetica", 14)
    pdf.drawString(72, 770, title.encode("latin-1", "replace").decode("latin-1"))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
