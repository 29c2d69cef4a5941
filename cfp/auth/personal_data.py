"""What the system holds about a person, as one JSON document they can download (GDPR
art. 15 and 20). Their own data only: a proposal gives its reference, title, state and
their own part in it, never the partner's address; a review they wrote gives their own
scores and comments. Instants are ISO 8601 in UTC, amounts are strings."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.auth.models import AccountToken, ApiToken, LoginAttempt, User
from cfp.core.audit import AuditEntry, log_action
from cfp.core.errors import NotAllowed
from cfp.core.outbox import OutboxMessage
from cfp.core.types import money, utcnow
from cfp.extensions import db


def _plain(value):
    """A value as JSON gives it: instants in UTC with a Z, dates as dates, amounts as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and hasattr(value, "name"):  # an enum
        return value.value
    return value


def _row(**fields) -> dict:
    return {key: _plain(value) for key, value in fields.items()}


def _account(user: User) -> dict:
    return _row(
        id=user.id, email=user.email, name=user.name, name_original=user.name_original,
        title=user.title, affiliation=user.affiliation, orcid=user.orcid, locale=user.locale,
        timezone=user.timezone, side=user.agency.short_name if user.agency else None,
        active=user.active, created_at=user.created_at, email_verified_at=user.email_verified_at,
        password_changed_at=user.password_changed_at,
    )


def _proposals(user: User) -> tuple[list, list]:
    from cfp.projects.models import Project
    from cfp.proposals.models import ProposalSide

    proposals, projects = [], []
    sides = db.session.scalars(sa.select(ProposalSide).where(ProposalSide.pi_user_id == user.id)
                               .order_by(ProposalSide.proposal_id)).all()
    for side in sides:
        p = side.proposal
        proposals.append(_row(
            id=p.id, reference=p.reference, call=p.call.reference, title=p.title, acronym=p.acronym,
            state=p.state, your_role="principal investigator", your_side=side.agency.short_name,
            created_by_you=p.created_by_id == user.id, created_at=p.created_at,
            submitted_at=p.submitted_at, institution=side.institution,
            institution_country=side.institution_country, pi_has_phd=side.pi_has_phd,
            requested_amount=money(side.requested_amount or 0), currency=p.call.side(side.agency_id).currency
            if p.call.side(side.agency_id) else None,
            confirmed_version=side.confirmed_version, confirmed_at=side.confirmed_at,
            name_on_record=side.pi_name, name_original_on_record=side.pi_name_original,
        ))
        project = db.session.scalar(sa.select(Project).where(Project.proposal_id == p.id))
        if project is not None:
            projects.append(_row(code=project.code, proposal=p.reference, status=project.status,
                                 start_date=project.start_date, end_date=project.end_date))
    return proposals, projects


def _proposal_records(user: User) -> dict:
    from cfp.proposals.models import (
        EligibilityCheck,
        PartnerInvitation,
        ProposalDocument,
        ProposalMember,
    )

    label = lambda p: p.reference or f"#{p.id}"
    members = db.session.scalars(sa.select(ProposalMember).where(
        sa.func.lower(ProposalMember.email) == user.email.lower())).all()
    sent = db.session.scalars(sa.select(PartnerInvitation).where(
        PartnerInvitation.invited_by_id == user.id)).all()
    accepted = db.session.scalars(sa.select(PartnerInvitation).where(
        PartnerInvitation.accepted_by_id == user.id)).all()
    documents = db.session.scalars(sa.select(ProposalDocument).where(
        ProposalDocument.uploaded_by_id == user.id)).all()
    checks = db.session.scalars(sa.select(EligibilityCheck).where(
        EligibilityCheck.decided_by_id == user.id)).all()
    return {
        "listed_as_team_member": [_row(proposal=label(m.proposal), name=m.name, email=m.email, role=m.role,
                                       career_stage=m.career_stage, affiliation=m.affiliation)
                                  for m in members],
        # The address of whoever was invited is theirs, not the inviter's: left out.
        "partner_invitations_sent": [_row(proposal=label(i.proposal), side=i.agency.short_name,
                                          sent_at=i.created_at, accepted=i.accepted_at is not None,
                                          cancelled_at=i.cancelled_at) for i in sent],
        "partner_invitations_accepted": [_row(proposal=label(i.proposal), side=i.agency.short_name,
                                              email=i.email, accepted_at=i.accepted_at) for i in accepted],
        "documents_uploaded": [_row(proposal=label(d.proposal), side=d.agency.short_name, kind=d.kind,
                                    file_name=d.original_name, size=d.size, pages=d.pages,
                                    uploaded_at=d.uploaded_at) for d in documents],
        "eligibility_decisions": [_row(proposal=label(c.proposal), side=c.agency.short_name, status=c.status,
                                       reason=c.reason, decided_at=c.decided_at) for c in checks],
    }


def _reviewing(user: User) -> dict:
    from cfp.reviews.models import Assignment, ReviewerInvitation, ReviewerProfile

    profile = db.session.scalar(sa.select(ReviewerProfile).where(ReviewerProfile.user_id == user.id))
    invitations = db.session.scalars(sa.select(ReviewerInvitation).where(
        ReviewerInvitation.accepted_user_id == user.id)).all()
    assignments = db.session.scalars(sa.select(Assignment).where(Assignment.reviewer_id == user.id)
                                     .order_by(Assignment.id)).all()
    reviews = []
    for a in assignments:
        review = a.review
        reviews.append({
            **_row(proposal=a.proposal.reference or f"#{a.proposal_id}", proposal_title=a.proposal.title,
                   side=a.agency.short_name, state=a.state, method=a.method, invited_at=a.invited_at,
                   answered_at=a.answered_at, due_at=a.due_at,
                   no_conflict_declared_at=a.no_conflict_declared_at, conflict_reason=a.conflict_reason),
            "review": None if review is None else {
                **_row(state=review.state, recommendation=review.recommendation,
                       weighted_score=review.weighted_score, submitted_at=review.submitted_at,
                       comments_to_applicants=review.comments_to_applicants,
                       confidential_comments=review.confidential_comments,
                       revisions=len(review.revisions)),
                "scores": [_row(criterion=s.criterion.name, score=s.score) for s in review.scores],
            },
        })
    return {
        "reviewer_profile": None if profile is None else _row(
            side=profile.agency.short_name, keywords=profile.keywords, expertise=profile.expertise,
            max_load=profile.max_load, declared_collaborations=profile.conflicts,
            unavailable_from=profile.unavailable_from, unavailable_until=profile.unavailable_until),
        "reviewer_pool_invitations": [_row(side=i.agency.short_name, name=i.name, email=i.email,
                                           affiliation=i.affiliation, keywords=i.keywords,
                                           expertise=i.expertise, invited_at=i.created_at,
                                           accepted_at=i.accepted_at) for i in invitations],
        "review_assignments": reviews,
    }


def _other_records(user: User) -> dict:
    from cfp.meetings.models import Attendee
    from cfp.projects.models import ProjectReport

    reports = db.session.scalars(sa.select(ProjectReport).where(ProjectReport.submitted_by_id == user.id)).all()
    attendances = db.session.scalars(sa.select(Attendee).where(Attendee.user_id == user.id)).all()
    return {
        "project_reports_submitted": [_row(project=r.project.code, kind=r.kind, state=r.state,
                                           submitted_at=r.submitted_at, text=r.text,
                                           attachment=r.attachment_name) for r in reports],
        "meetings_attended": [_row(meeting=a.meeting.number, date=a.meeting.date, name=a.name,
                                   name_original=a.name_original, title=a.title,
                                   organisation=a.organisation, cochair=a.is_cochair) for a in attendances],
    }


def export_personal_data(user: User) -> dict:
    """Everything held about `user`, grouped by kind (see the module's docstring)."""
    proposals, projects = _proposals(user)
    attempts = db.session.scalars(sa.select(LoginAttempt).where(LoginAttempt.email == user.email.lower())
                                  .order_by(LoginAttempt.created_at)).all()
    tokens = db.session.scalars(sa.select(AccountToken).where(AccountToken.user_id == user.id)
                                .order_by(AccountToken.created_at)).all()
    api_tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                    .order_by(ApiToken.created_at)).all()
    messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id)
                                  .order_by(OutboxMessage.created_at)).all()
    actions = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.actor_id == user.id)
                                 .order_by(AuditEntry.created_at, AuditEntry.id)).all()
    return {
        "exported_at": _plain(utcnow()),
        "account": _account(user),
        "roles": [_row(role=r.role, side=r.agency.short_name if r.agency else None) for r in user.roles],
        "login_attempts": [_row(at=a.created_at, address=a.address, succeeded=a.succeeded) for a in attempts],
        "emailed_links": [_row(purpose=t.purpose, sent_to=t.email, created_at=t.created_at,
                               expires_at=t.expires_at, used_at=t.used_at) for t in tokens],
        "api_tokens": [_row(name=t.name, scope=t.scope, created_at=t.created_at, last_used_at=t.last_used_at,
                            revoked_at=t.revoked_at) for t in api_tokens],
        "proposals": proposals,
        **_proposal_records(user),
        "projects": projects,
        **_reviewing(user),
        **_other_records(user),
        "messages_sent_to_you": [_row(subject=m.subject, to=m.recipient, language=m.language,
                                      status=m.status, created_at=m.created_at, sent_at=m.sent_at)
                                 for m in messages],
        "your_actions": [_row(action=e.action, object_type=e.object_type, object_id=e.object_id,
                              at=e.created_at) for e in actions],
    }


def record_export(actor: User, user: User) -> dict:
    """The export, written to the audit log (who downloaded whose data, and when)."""
    if actor.id != user.id and not actor.is_admin:
        raise NotAllowed(_("Only the user or an administrator can export the user's data."))
    data = export_personal_data(user)
    log_action(actor, "user.export_data", user)
    return data
