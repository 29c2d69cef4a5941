"""Writers for a side's reviewer pool: invitations by email (the account is created when the
expert accepts), profiles, and the all-or-nothing CSV import. None of them commits."""
from __future__ import annotations

import csv
import hashlib
import io
import secrets
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from cfp.auth.models import User, verified_account
from cfp.core.audit import log_action
from cfp.core.countries import country_codes
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import queue_email
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.core.urls import external_url
from cfp.extensions import db
from cfp.reviews.models import (
    OPEN_ASSIGNMENT_STATES,
    Assignment,
    ReviewerInvitation,
    ReviewerProfile,
)

INVITATION_DAYS = 30
CSV_COLUMNS = ["email", "name", "affiliation", "keywords", "expertise", "max_load", "country"]
MAX_ROWS = 5000


class PoolImportError(DomainError):
    def __init__(self, errors: list[str]):
        super().__init__(_("Nothing was imported: %(n)s rows have errors.", n=len(errors)))
        self.errors = errors


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_email(address: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _require_staff(actor, agency_id: int) -> None:
    if not actor.has_role(Role.staff, agency_id):
        raise NotAllowed(_("Only staff of this side may manage its reviewer pool."))


def _country_code(value: str | None) -> str | None | bool:
    """A country as stored (ISO 3166 alpha-2, upper case); None when none is given; False
    when what is given is not a code."""
    code = (value or "").strip().upper() or None
    return code if code is None or code in country_codes() else False


def _add_to_pool(actor, user: User, agency_id: int, keywords: str, expertise: str, max_load: int,
                 country: str | None = None) -> ReviewerProfile:
    """Into the side's pool; a profile made now takes the keywords, expertise, load and
    country given, one that exists keeps its own."""
    if user.agency_id is not None and user.agency_id != agency_id:
        raise DomainError(_("%(email)s belongs to the other side.", email=user.email))
    user.grant(Role.reviewer, agency_id)
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=user.id))
    if profile is None:
        profile = ReviewerProfile(user_id=user.id, agency_id=agency_id, keywords=keywords,
                                  expertise=expertise, max_load=max_load, country=country)
        db.session.add(profile)
    elif profile.agency_id != agency_id:
        raise DomainError(_("%(email)s is in the other side's pool.", email=user.email))
    db.session.flush()
    log_action(actor, "reviewer_pool.add", profile, after={"user_id": user.id, "agency_id": agency_id})
    return profile


def invite_reviewer(actor, agency_id: int, email: str, name: str, affiliation: str = "",
                    keywords: str = "", expertise: str = "", max_load: int = 8,
                    country: str | None = None) -> ReviewerInvitation:
    """Email an expert a link to join the side's pool (valid INVITATION_DAYS days); what is
    given of them (`country`: of their institution) becomes their profile when they accept."""
    _require_staff(actor, agency_id)
    email = email.strip().lower()
    country = _country_code(country)
    if country is False:
        raise DomainError(_("Choose the country from the list."))
    token = secrets.token_urlsafe(32)
    invitation = ReviewerInvitation(
        agency_id=agency_id, email=email, name=name.strip(), affiliation=affiliation.strip(),
        keywords=keywords.strip(), expertise=expertise.strip(), max_load=max_load, country=country,
        token_hash=_hash(token), invited_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    # To the account that proved it owns the address, if any (then it is in its Mail).
    queue_email(to=verified_account(email) or email, template="reviewer_pool_invitation", key=f"reviewer-pool-invitation-{invitation.id}",
                context={"invitation": invitation, "inviter": actor,
                         "link": external_url("reviews.join_pool", token=token)},
                language=invitation.agency.locale)  # an address without an account: its side's
    log_action(actor, "reviewer_pool.invite", invitation, after={"email": email, "agency_id": agency_id})
    invitation.token = token  # for the caller (tests, the flash); never stored
    return invitation


def find_invitation(token: str) -> ReviewerInvitation | None:
    invitation = db.session.scalar(sa.select(ReviewerInvitation).filter_by(token_hash=_hash(token)))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at < utcnow():
        return None
    return invitation


def accept_invitation(token: str, user: User | None, password: str | None = None) -> ReviewerProfile:
    """The expert accepts: with their account (logged in, the invited address, verified) or
    a new one created now, with the password they choose (the address is verified: they
    followed the link). An unverified account with the address is told to verify it first;
    the link keeps working meanwhile."""
    invitation = find_invitation(token)
    if invitation is None:
        raise DomainError(_("This invitation is no longer valid."))
    if user is not None and user.is_authenticated:
        if user.email.lower() != invitation.email:
            raise DomainError(_("This invitation was sent to %(email)s; log in with that address.",
                                email=invitation.email))
        if not user.owns_address(invitation.email):
            raise DomainError(_("Verify your email address first: follow the link we emailed to "
                                "%(email)s, then follow this invitation again.", email=invitation.email))
    else:
        if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == invitation.email)):
            raise DomainError(_("An account exists for %(email)s: log in first, then follow the link again. "
                                "If you do not know its password, choose a new one with “Forgot your "
                                "password?”: the link is sent to that address.", email=invitation.email))
        if not password or len(password) < 10:
            raise DomainError(_("Choose a password of at least 10 characters."))
        user = User(email=invitation.email, name=invitation.name, affiliation=invitation.affiliation,
                    agency_id=invitation.agency_id, email_verified_at=utcnow())
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
    if user.agency_id is None:
        user.agency_id = invitation.agency_id
    profile = _add_to_pool(None, user, invitation.agency_id, invitation.keywords, invitation.expertise,
                           invitation.max_load, invitation.country)
    invitation.accepted_at = utcnow()
    invitation.accepted_user_id = user.id
    log_action(user, "reviewer_pool.accept", invitation, after={"user_id": user.id})
    return profile


def update_profile(actor, profile: ReviewerProfile, *, keywords: str, expertise: str, max_load: int,
                   conflicts: str, unavailable_from: date | None, unavailable_until: date | None,
                   country: str | None) -> ReviewerProfile:
    if not profile.can_edit(actor):
        raise NotAllowed(_("You cannot edit this profile."))
    if max_load < 0:
        raise DomainError(_("The maximum number of proposals cannot be negative."))
    if unavailable_from and unavailable_until and unavailable_from > unavailable_until:
        raise DomainError(_("The unavailability must end after it starts."))
    country = _country_code(country)
    if country is False:
        raise DomainError(_("Choose the country from the list."))
    before = {"keywords": profile.keywords, "max_load": profile.max_load, "country": profile.country}
    profile.keywords, profile.expertise, profile.max_load = keywords.strip(), expertise.strip(), max_load
    profile.conflicts, profile.country = conflicts.strip(), country
    profile.unavailable_from, profile.unavailable_until = unavailable_from, unavailable_until
    log_action(actor, "reviewer_profile.update", profile, before=before,
               after={"keywords": profile.keywords, "max_load": profile.max_load, "country": profile.country})
    return profile


def remove_from_pool(actor, profile: ReviewerProfile) -> None:
    """Take a reviewer out of the side's pool: their profile goes and their reviewer role of
    that side with it; their past assignments and reviews stay as they are. Refused while
    they still owe reviews of that side (replace them on each proposal first)."""
    _require_staff(actor, profile.agency_id)
    user = profile.user
    open_ones = db.session.scalars(
        sa.select(Assignment).where(Assignment.reviewer_id == user.id, Assignment.agency_id == profile.agency_id,
                                    Assignment.state.in_(OPEN_ASSIGNMENT_STATES))
        .order_by(Assignment.id)).all()
    if open_ones:
        raise DomainError(ngettext(
            "%(name)s still has %(num)s open review (%(refs)s): replace them on the proposal's Reviewers "
            "page (Replace), or wait until it is submitted, then remove them.",
            "%(name)s still has %(num)s open reviews (%(refs)s): replace them on each proposal's Reviewers "
            "page (Replace), or wait until they are submitted, then remove them.",
            len(open_ones), name=user.name,
            refs=", ".join(a.proposal.reference or a.proposal.title for a in open_ones)))
    before = {"user_id": user.id, "agency_id": profile.agency_id, "keywords": profile.keywords,
              "expertise": profile.expertise, "max_load": profile.max_load}
    user.revoke(Role.reviewer, profile.agency_id)
    db.session.delete(profile)
    log_action(actor, "reviewer_pool.remove", user, before=before)


def import_pool(actor, agency_id: int, text: str) -> dict:
    """CSV with the header email,name,affiliation,keywords,expertise,max_load,country (all
    but email and name may be left out; country: ISO 3166 alpha-2). Every row is
    checked first; one error anywhere and nothing is written (PoolImportError lists each
    row's errors). Known accounts join the pool at once; the others are invited."""
    _require_staff(actor, agency_id)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("email", "name") if c not in header]
    if missing:
        raise PoolImportError([_("Line 1: the header lacks the columns %(cols)s (expected %(all)s).",
                                 cols=", ".join(missing), all=",".join(CSV_COLUMNS))])
    errors, rows, seen = [], [], set()
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            errors.append(_("More than %(n)s rows: split the file.", n=MAX_ROWS))
            break
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        problems = []
        email = row.get("email", "").lower()
        if not _check_email(email):
            problems.append(_("“%(email)s” is not an email address", email=row.get("email", "")))
        elif email in seen:
            problems.append(_("%(email)s appears twice", email=email))
        seen.add(email)
        if not row.get("name"):
            problems.append(_("the name is missing"))
        load = row.get("max_load") or "8"
        if not load.isdigit() or not 0 <= int(load) <= 100:
            problems.append(_("max_load must be a whole number from 0 to 100 (got “%(v)s”)", v=load))
        country = _country_code(row.get("country"))
        if country is False:
            problems.append(_("the country must be a two-letter code such as BE or CN (got “%(v)s”)",
                              v=row.get("country")))
        # Only an account that proved it owns the address joins at once; the others
        # (none, or an unverified one) are invited at the address.
        user = verified_account(email) if email else None
        if user is not None:
            profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=user.id))
            if (user.agency_id not in (None, agency_id)) or (profile and profile.agency_id != agency_id):
                problems.append(_("%(email)s belongs to the other side", email=email))
        if problems:
            errors.append(_("Line %(line)s: %(problems)s.", line=line, problems="; ".join(str(p) for p in problems)))
        else:
            rows.append((row, email, int(load), country, user))
    if errors:
        raise PoolImportError(errors)
    added = invited = 0
    for row, email, load, country, user in rows:
        if user is not None:
            _add_to_pool(actor, user, agency_id, row.get("keywords", ""), row.get("expertise", ""), load, country)
            added += 1
        else:
            invite_reviewer(actor, agency_id, email, row["name"], row.get("affiliation", ""),
                            row.get("keywords", ""), row.get("expertise", ""), load, country)
            invited += 1
    log_action(actor, "reviewer_pool.import", None, after={"agency_id": agency_id, "added": added, "invited": invited})
    return {"added": added, "invited": invited}
