"""The "to do" panel after login: for each role the user holds, what waits for them now,
with a count and the page where they do it. One query per line, whatever the data size."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from cfp.calls.models import Call
from cfp.core.outbox import MessageStatus, OutboxMessage, visible_messages
from cfp.core.roles import Role
from cfp.core.scope import within
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.meetings.models import Decision, DecisionApproval, DecisionState
from cfp.projects.models import Project, ProjectReport, ProjectStatus, ReportState
from cfp.proposals.models import (
    EligibilityCheck,
    EligibilityStatus,
    PartnerInvitation,
    Proposal,
    ProposalSide,
)
from cfp.proposals.models import ProposalState as P
from cfp.reviews.models import Assignment, AssignmentState


@dataclass
class Todo:
    label: str
    count: int
    url: str


def _count(query) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def todo_for(user) -> list[Todo]:
    """What waits for `user`, only the lines with something in them."""
    items: list[Todo] = []
    if user.has_role(Role.researcher):
        mine = sa.select(ProposalSide.proposal_id).where(ProposalSide.pi_user_id == user.id)
        unconfirmed = sa.select(Proposal.id).join(ProposalSide).where(
            Proposal.id.in_(mine), Proposal.state == P.draft, ProposalSide.pi_user_id == user.id,
            sa.or_(ProposalSide.confirmed_version.is_(None), ProposalSide.confirmed_version != Proposal.version))
        items.append(Todo(_l("Drafts waiting for your confirmation"), _count(unconfirmed), url_for("proposals.mine")))
        if user.email_verified:
            invited = sa.select(PartnerInvitation.id).where(
                sa.func.lower(PartnerInvitation.email) == user.email.lower(),
                PartnerInvitation.accepted_at.is_(None), PartnerInvitation.expires_at > utcnow())
            items.append(Todo(_l("Invitations to join a proposal"), _count(invited), url_for("proposals.mine")))
        reports = sa.select(ProjectReport.id).join(Project).join(ProposalSide, ProposalSide.proposal_id == Project.proposal_id).where(
            ProposalSide.pi_user_id == user.id, ProjectReport.state == ReportState.due,
            Project.status.in_([ProjectStatus.active, ProjectStatus.renewed]))
        items.append(Todo(_l("Project reports due"), _count(reports), url_for("proposals.mine")))
    if user.has_role(Role.reviewer):
        mine = sa.select(Assignment.id).where(Assignment.reviewer_id == user.id)
        items.append(Todo(_l("Review invitations to answer"),
                          _count(mine.where(Assignment.state == AssignmentState.invited)), url_for("reviews.mine")))
        items.append(Todo(_l("Reviews to write"), _count(mine.where(
            Assignment.state.in_([AssignmentState.accepted, AssignmentState.overdue]))), url_for("reviews.mine")))
    if user.has_role(Role.staff):
        agencies = [r.agency_id for r in user.roles if r.role == Role.staff and r.agency_id]
        pending = sa.select(EligibilityCheck.id).join(Proposal).join(Call, Call.id == Proposal.call_id).where(
            within(user, Call.committee_id, Role.staff),
            EligibilityCheck.agency_id.in_(agencies), EligibilityCheck.status == EligibilityStatus.pending,
            Proposal.state.in_([P.submitted, P.eligible]))
        items.append(Todo(_l("Eligibility checks to record for your side"), _count(pending),
                          url_for("proposals.staff_index")))
    if user.is_secretariat or user.has_role(Role.cochair):
        drafts = sa.select(Decision.id).where(Decision.state == DecisionState.draft,
                                              within(user, Decision.committee_id, Role.secretariat, Role.cochair))
        if user.has_role(Role.cochair):
            sides = [r.agency_id for r in user.roles if r.role == Role.cochair and r.agency_id]
            approved = sa.select(DecisionApproval.decision_id).where(DecisionApproval.agency_id.in_(sides))
            items.append(Todo(_l("Decisions waiting for your approval"),
                              _count(drafts.where(Decision.id.not_in(approved))), url_for("meetings.index")))
        if user.is_secretariat:
            items.append(Todo(_l("Draft decisions to table and adopt"), _count(drafts), url_for("meetings.index")))
            held = visible_messages(user).with_only_columns(OutboxMessage.id).where(
                OutboxMessage.status == MessageStatus.held)
            items.append(Todo(_l("Decision letters to release"), _count(held), url_for("meetings.index")))
            failed = visible_messages(user).with_only_columns(OutboxMessage.id).where(
                OutboxMessage.status == MessageStatus.failed)
            items.append(Todo(_l("Emails that failed"), _count(failed), url_for("core.outbox", status="failed")))
    return [item for item in items if item.count]
