"""Writers of the administration: agencies, agreements with their Joint Committee, and
people (invitations, roles, accounts). Each takes the acting admin, checks the right,
writes the audit log and queues the emails; none commits (the view does, once)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import available_timezones

import sqlalchemy as sa
from babel.numbers import list_currencies
from flask import current_app
from flask_babel import gettext as _

from cfp.auth.models import AccountToken, User, UserRole
from cfp.auth.operations import find_user_by_email, issue_password_link
from cfp.calls.models import Agency, Agreement, JointCommittee
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import queue_email
from cfp.core.roles import SIDED_ROLES, Role
from cfp.core.types import utcnow
from cfp.core.urls import external_url
from cfp.extensions import db

# An invitation's link (to choose a password) works this long.
INVITATION_LIFETIME = timedelta(days=14)
# Roles that name no side and no committee: they hold everywhere.
UNSCOPED_ROLES = {Role.admin, Role.researcher}


def require_admin(actor) -> None:
    if not actor.is_admin:
        raise NotAllowed(_("Only an administrator may do this."))


# Agencies.

@dataclass
class AgencyTerms:
    code: str
    short_name: str
    name: str
    country: str
    currency: str
    timezone: str
    locale: str


def _checked(terms: AgencyTerms, agency: Agency | None = None) -> dict:
    values = {k: (v or "").strip() for k, v in asdict(terms).items()}
    values["code"], values["currency"] = values["code"].upper(), values["currency"].upper()
    if values["currency"] not in list_currencies():
        raise DomainError(_("%(code)s is not an ISO 4217 currency code.", code=values["currency"]))
    if values["timezone"] not in available_timezones():
        raise DomainError(_("%(zone)s is not a known time zone.", zone=values["timezone"]))
    if values["locale"] not in current_app.config["LANGUAGES"]:
        raise DomainError(_("This language is not offered."))
    same_code = db.session.scalar(sa.select(Agency).where(sa.func.upper(Agency.code) == values["code"]))
    if same_code is not None and same_code is not agency:
        raise DomainError(_("The side code %(code)s is already used by %(agency)s.",
                            code=values["code"], agency=same_code.short_name))
    return values


def create_agency(actor: User, terms: AgencyTerms) -> Agency:
    require_admin(actor)
    values = _checked(terms)
    agency = Agency(**values)
    db.session.add(agency)
    db.session.flush()
    log_action(actor, "admin.create_agency", agency, after=values)
    return agency


def update_agency(actor: User, agency: Agency, terms: AgencyTerms) -> dict:
    require_admin(actor)
    values = _checked(terms, agency)
    changed = {k: (getattr(agency, k), v) for k, v in values.items() if getattr(agency, k) != v}
    for key, (_before, after) in changed.items():
        setattr(agency, key, after)
    if changed:
        log_action(actor, "admin.update_agency", agency, before={k: b for k, (b, _a) in changed.items()},
                   after={k: a for k, (_b, a) in changed.items()})
    return changed


# Agreements and their Joint Committee.

def create_agreement(actor: User, agency_a_id: int, agency_b_id: int, title: str,
                     committee_name: str, signed_on: date | None = None) -> JointCommittee:
    """An agreement between two agencies and its Joint Committee, made together."""
    require_admin(actor)
    if agency_a_id == agency_b_id:
        raise DomainError(_("An agreement is between two different agencies."))
    a, b = db.session.get(Agency, agency_a_id), db.session.get(Agency, agency_b_id)
    if a is None or b is None:
        raise DomainError(_("Choose both agencies."))
    if not title.strip() or not committee_name.strip():
        raise DomainError(_("Give the agreement's title and its committee's name."))
    agreement = Agreement(title=title.strip(), agency_a=a, agency_b=b, signed_on=signed_on)
    committee = JointCommittee(agreement=agreement, name=committee_name.strip())
    db.session.add(committee)
    db.session.flush()
    log_action(actor, "admin.create_agreement", agreement,
               after={"title": agreement.title, "agencies": [a.code, b.code], "signed_on": signed_on})
    log_action(actor, "admin.create_committee", committee, after={"name": committee.name})
    return committee


def update_committee(actor: User, committee: JointCommittee, *, name: str, agreement_title: str,
                     signed_on: date | None) -> dict:
    """The committee's settings: its name, and its agreement's title and date."""
    require_admin(actor)
    if not name.strip() or not agreement_title.strip():
        raise DomainError(_("Give the agreement's title and its committee's name."))
    agreement, changed = committee.agreement, {}
    for obj, key, value in ((committee, "name", name.strip()), (agreement, "title", agreement_title.strip()),
                            (agreement, "signed_on", signed_on)):
        if getattr(obj, key) != value:
            changed[key] = (getattr(obj, key), value)
            setattr(obj, key, value)
    if changed:
        log_action(actor, "admin.update_committee", committee, before={k: b for k, (b, _a) in changed.items()},
                   after={k: a for k, (_b, a) in changed.items()})
    return changed


# People.

def people_query(search: str = ""):
    """Accounts by name, matching `search` in the name or the address."""
    query = sa.select(User).order_by(sa.func.lower(User.name), User.id)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(User.name).like(pattern),
                                   sa.func.lower(User.email).like(pattern),
                                   sa.func.lower(sa.func.coalesce(User.name_original, "")).like(pattern)))
    return query


def _check_grant(role: Role, agency_id: int | None, committee_id: int | None) -> None:
    if role in UNSCOPED_ROLES and (agency_id or committee_id):
        raise DomainError(_("This role holds everywhere: it takes no side and no committee."))
    if role in SIDED_ROLES and not agency_id:
        raise DomainError(_("This role is held for a side: choose the agency."))
    if role == Role.secretariat and agency_id:
        raise DomainError(_("The secretariat acts for both sides: choose no agency."))
    if committee_id:
        committee = db.session.get(JointCommittee, committee_id)
        if committee is None:
            raise DomainError(_("Unknown committee."))
        if agency_id and agency_id not in {a.id for a in committee.agencies}:
            raise DomainError(_("This agency is not a side of the committee %(name)s.", name=committee.name))


def _grant_entry(role: Role, agency_id, committee_id) -> dict:
    return {"role": role, "agency_id": agency_id, "committee_id": committee_id}


def grant_role(actor: User, user: User, role: Role, agency_id: int | None = None,
               committee_id: int | None = None, *, notify: bool = True) -> UserRole:
    """Give `user` a role (for a side and a committee where it applies); the user is told."""
    require_admin(actor)
    _check_grant(role, agency_id, committee_id)
    if any(r.role == role and r.agency_id == agency_id and r.committee_id == committee_id for r in user.roles):
        raise DomainError(_("%(name)s already holds this role.", name=user.name))
    if role in SIDED_ROLES and user.agency_id is None:
        user.agency_id = agency_id  # a person of that side from now on
    grant = user.grant(role, agency_id, committee_id)
    db.session.flush()
    log_action(actor, "admin.grant_role", user, after=_grant_entry(role, agency_id, committee_id))
    if notify:
        queue_email(to=user, template="role_granted", key=f"role-granted:{grant.id}",
                    context={"user": user, "grant": grant, "link": external_url("auth.login")})
    return grant


def revoke_role(actor: User, user: User, grant: UserRole) -> None:
    require_admin(actor)
    if grant.role == Role.admin and _active_admins_besides(user) == 0 and user.active:
        raise DomainError(_("This is the last administrator: make somebody else an administrator first."))
    entry = _grant_entry(grant.role, grant.agency_id, grant.committee_id)
    user.revoke(grant.role, grant.agency_id, grant.committee_id)
    log_action(actor, "admin.revoke_role", user, before=entry)


def invite_person(actor: User, *, email: str, name: str, role: Role, agency_id: int | None = None,
                  committee_id: int | None = None, locale: str = "en",
                  now: datetime | None = None) -> User:
    """Give the role to the account with this address, or make one and email its owner a
    link to choose a password (which also proves the address). Returns the account."""
    require_admin(actor)
    now = now or utcnow()
    email = email.strip().lower()
    _check_grant(role, agency_id, committee_id)
    user = find_user_by_email(email)
    if user is not None:
        grant_role(actor, user, role, agency_id, committee_id)
        return user
    if not name.strip():
        raise DomainError(_("Give the person's name."))
    user = User(email=email, name=name.strip(), agency_id=agency_id,
                locale=locale if locale in current_app.config["LANGUAGES"] else "en")
    db.session.add(user)
    db.session.flush()
    grant = user.grant(role, agency_id, committee_id)
    db.session.flush()
    log_action(actor, "admin.invite_person", user, after={"email": email, **_grant_entry(role, agency_id, committee_id)})
    token, row = issue_password_link(user, INVITATION_LIFETIME, now, invited_by=actor)
    queue_email(to=user, template="account_invitation", key=f"account-token:{row.id}",
                context={"user": user, "grant": grant, "inviter": actor, "days": INVITATION_LIFETIME.days,
                         "link": external_url("auth.accept_invitation", token=token)})
    return user


def _active_admins_besides(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(User.id))).join(UserRole)
        .where(UserRole.role == Role.admin, User.active.is_(True), User.id != user.id)
    )


def deactivate_account(actor: User, user: User) -> None:
    """The account can no longer log in, and every session of it ends now."""
    require_admin(actor)
    if user.id == actor.id:
        raise DomainError(_("You cannot deactivate your own account."))
    if not user.active:
        raise DomainError(_("This account is already deactivated."))
    if user.is_admin and _active_admins_besides(user) == 0:
        raise DomainError(_("This is the last administrator: make somebody else an administrator first."))
    user.active = False
    user.end_sessions()
    db.session.execute(sa.update(AccountToken).where(AccountToken.user_id == user.id,
                                                     AccountToken.used_at.is_(None))
                       .values(used_at=utcnow()).execution_options(synchronize_session="fetch"))
    log_action(actor, "admin.deactivate_account", user, before={"active": True}, after={"active": False})


def delete_person(actor: User, user: User, *, typed_email: str, reason: str):
    """Delete (anonymise) another person's account at their request made otherwise (a letter,
    an email), through the deletion of cfp.auth.deletion: the admin types the account's
    address to confirm. Returns its outcome: done, or refused with the reasons (the request
    and its refusal are in the audit log either way)."""
    from cfp.auth.deletion import delete_account

    require_admin(actor)
    if user.id == actor.id:
        raise DomainError(_("Your own account is deleted from your account page, with your password."))
    if user.anonymised_at is not None:
        raise DomainError(_("This account is already deleted."))
    if (typed_email or "").strip().lower() != user.email.lower():
        raise DomainError(_("The address typed is not the account's: nothing is deleted."))
    return delete_account(actor, user, reason)


def reactivate_account(actor: User, user: User) -> None:
    require_admin(actor)
    if user.active:
        raise DomainError(_("This account is active."))
    user.active = True
    log_action(actor, "admin.reactivate_account", user, before={"active": False}, after={"active": True})
