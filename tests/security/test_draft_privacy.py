"""Drafts are the applicants' alone: the audit log tells the secretariat and admins that a
draft changed (which parts, which version), never what it says."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.core.audit import AuditEntry
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.content import ProposalContent
from cfp.proposals.operations import save_proposal, start_proposal
from tests import factories as f

SECRET_ABSTRACT = "Unpublished idea: a perovskite layer grown at room temperature."


def _content(call, **changes) -> ProposalContent:
    a, b = call.agencies
    values = {"title": "Quiet cells", "acronym": "QC", "abstract": "First words.",
              "keywords": "solar", "priority_area_id": None, "duration_months": 24,
              "institutions": {a.id: "Tsinghua University", b.id: ""},
              "requested_amounts": {a.id: None, b.id: None}}
    values.update(changes)
    return ProposalContent(**values)


def test_the_audit_log_says_a_draft_changed_not_what_it_says(client):
    cn, _be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn)
    call = f.call(committee)
    proposal = start_proposal(pi, call, _content(call))
    db.session.flush()
    save_proposal(pi, proposal, 1, _content(call, abstract=SECRET_ABSTRACT, title="Quiet cells II"))
    db.session.commit()

    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_type == "Proposal", AuditEntry.object_id == proposal.id)).all()
    stored = repr([(e.before, e.after) for e in entries])
    assert SECRET_ABSTRACT not in stored and "Quiet cells" not in stored
    save = next(e for e in entries if e.action == "proposal.save")
    assert save.after == {"version": 2, "changed": ["abstract", "title"]}

    f.login(client, f.user(Role.secretariat))
    page = client.get(f"/audit?type=Proposal&id={proposal.id}").data.decode()
    assert "proposal.save" in page and "abstract" in page
    assert SECRET_ABSTRACT not in page and "Quiet cells" not in page
