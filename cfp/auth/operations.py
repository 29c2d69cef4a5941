"""Writers for accounts. They never commit: the view does, once.

Every function that depends on the clock takes `now` (default: the present), so
that tests state the instant instead of waiting for it.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import secrets
from datetime import datetime, timedelta
from zoneinfo import available_timezones

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from cfp.auth.models import (
    AccountToken,
    LoginAttempt,
    TokenPurpose,
    User,
    hash_password,
    verify_against_nothing,
)
from cfp.auth.notifications import (
    send_account_exists_email,
    send_password_reset_email,
    send_verification_email,
)
from cfp.auth.orcid import normalize_orcid
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import deliver_address_mail_to
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db

# Emailed links.
VERIFY_EMAIL_LIFETIME = timedelta(days=3)
RESET_PASSWORD_LIFETIME = timedelta(hours=1)
RESEND_VERIFICATION_INTERVAL = timedelta(minutes=2)
RESET_REQUESTS_PER_HOUR = 3  # per account; more requests are answered alike and send nothing

# Guessing passwords: nothing locks, everything slows down. After a few free failures,
# each failure makes the next attempt for the account, and from the client address,
# wait twice as long, up to a cap; an attempt inside the wait is refused without
# looking at the password. So a stranger can delay an account by at most the cap,
# and a correct password after the wait always logs in.
LOGIN_WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
ACCOUNT_FREE_FAILURES = 3
ADDRESS_FREE_FAILURES = 10  # one address may hold many people (a campus, a proxy)
FIRST_WAIT = timedelta(seconds=1)
MAX_ACCOUNT_WAIT = timedelta(minutes=1)  # at most 60 guesses an hour on an account
MAX_ADDRESS_WAIT = timedelta(minutes=5)
# An address the account logged in from lately is the owner's: there only its own
# failures count for the account, not those of strangers elsewhere.
KNOWN_ADDRESS_FOR = timedelta(days=30)
BURST_FAILURES = 10  # a warning in the log at 10 failures in the window, 20, 40...

log = logging.getLogger("cfp.auth")

# Housekeeping (a periodic task calls `purge_account_records`).
KEEP_LOGIN_ATTEMPTS = timedelta(days=30)
KEEP_SPENT_TOKENS = timedelta(days=30)


class InvalidLink(DomainError):
    """An emailed link that is unknown, expired, already used or replaced."""

    def __init__(self):
        super().__init__(_("This link does not work any more: it has expired, was already used, "
                           "or a newer one was sent. You can ask for a new one."))


class LoginThrottled(DomainError):
    """An attempt inside the wait that earlier failures imposed; the password was not checked."""

    def __init__(self, wait: timedelta):
        self.seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(ngettext("Too many failed attempts: try again in %(num)d second.",
                                  "Too many failed attempts: try again in %(num)d seconds.",
                                  self.seconds))


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
    )


# Registration and email verification.

def register_researcher(
    *, email: str, password: str, name: str, agency_id: int, affiliation: str,
    name_original: str | None = None, locale: str = "en", now: datetime | None = None,
) -> User | None:
    """A researcher account, unverified until its owner follows the emailed link.

    When the address already has an account, nothing is created and None is returned:
    the owner is told by email instead, and the caller answers as for a new account,
    so that the form does not tell who has an account."""
    now = now or utcnow()
    existing = find_user_by_email(email)
    if existing is not None:
        hash_password(password)  # about the time a new account takes
        if existing.is_active:
            send_account_exists_email(existing, now)
        log_action(None, "user.register_existing", existing)
        return None
    user = User(
        email=email.strip().lower(),
        name=name.strip(),
        name_original=(name_original or "").strip() or None,
        agency_id=agency_id,
        affiliation=affiliation.strip(),
        locale=locale if locale in current_app.config["LANGUAGES"] else "en",
    )
    user.set_password(password)
    user.grant(Role.researcher)
    db.session.add(user)
    db.session.flush()
    log_action(user, "user.register", user, after={"email": user.email, "agency_id": agency_id})
    _send_verification(user, now)
    return user


def create_admin(*, email: str, name: str, password: str | None, now: datetime | None = None) -> tuple[User, bool]:
    """An administrator, made from the command line by whoever runs the installation
    (`cfp init`, `cfp create-admin`): its address counts as verified. An existing
    account is given the admin role and keeps its password. Returns (user, created)."""
    from cfp.auth.forms import PASSWORD_MIN

    now = now or utcnow()
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise DomainError(_("%(email)s is not an email address.", email=email))
    user = find_user_by_email(email)
    if user is not None:
        if not user.is_admin:
            user.grant(Role.admin)
            log_action(None, "user.grant_admin", user, after={"role": Role.admin})
        return user, False
    if not name.strip():
        raise DomainError(_("Give the administrator's name."))
    if not password or len(password) < PASSWORD_MIN:
        raise DomainError(_("The password needs at least %(n)s characters.", n=PASSWORD_MIN))
    user = User(email=email, name=name.strip(), email_verified_at=now)
    user.set_password(password)
    user.grant(Role.admin)
    db.session.add(user)
    db.session.flush()
    log_action(None, "user.create_admin", user, after={"email": email})
    return user, True


def resend_verification(actor: User, now: datetime | None = None) -> AccountToken:
    """A new verification link for the actor's own address. Older links keep working."""
    now = now or utcnow()
    if actor.email_verified:
        raise DomainError(_("Your email address is already verified."))
    recent = db.session.scalar(
        sa.select(sa.func.count()).select_from(AccountToken).where(
            AccountToken.user_id == actor.id,
            AccountToken.purpose == TokenPurpose.verify_email,
            AccountToken.created_at > now - RESEND_VERIFICATION_INTERVAL,
        )
    )
    if recent:
        raise DomainError(_("A link was sent a moment ago; please check your mailbox (and its spam "
                            "folder) before asking again."))
    return _send_verification(actor, now)


def _send_verification(user: User, now: datetime) -> AccountToken:
    token, row = _issue_token(user, TokenPurpose.verify_email, VERIFY_EMAIL_LIFETIME, now)
    send_verification_email(user, row, token,
                            hours=int(VERIFY_EMAIL_LIFETIME.total_seconds() // 3600))
    return row


def verify_email(token: str, now: datetime | None = None) -> User:
    """Mark the address verified. The link works once; InvalidLink otherwise."""
    now = now or utcnow()
    row = _usable_token(token, TokenPurpose.verify_email, now)
    row.used_at = now
    user = row.user
    if user.email_verified_at is None:
        user.email_verified_at = now
        log_action(user, "user.verify_email", user, after={"email": user.email})
        deliver_address_mail_to(user)
    return user


# Password reset and change.

def request_password_reset(email: str, now: datetime | None = None) -> AccountToken | None:
    """Email a reset link if `email` belongs to an active account. The caller
    answers the same whatever this returns: the answer must not tell whether
    an account exists."""
    now = now or utcnow()
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return None
    recent = db.session.scalar(
        sa.select(sa.func.count()).select_from(AccountToken).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TokenPurpose.reset_password,
            AccountToken.created_at > now - timedelta(hours=1),
        )
    )
    if recent >= RESET_REQUESTS_PER_HOUR:
        return None  # nobody fills a mailbox through this form
    token, row = _issue_token(user, TokenPurpose.reset_password, RESET_PASSWORD_LIFETIME, now)
    send_password_reset_email(user, row, token,
                              minutes=int(RESET_PASSWORD_LIFETIME.total_seconds() // 60))
    log_action(None, "user.request_password_reset", user)
    return row


def find_reset_token(token: str, now: datetime | None = None) -> AccountToken:
    """The usable reset token behind a link (to show its form); InvalidLink otherwise."""
    return _usable_token(token, TokenPurpose.reset_password, now or utcnow())


def reset_password(token: str, new_password: str, now: datetime | None = None) -> User:
    """Set a new password through an emailed link. The link then stops working,
    and so does every other reset link of the account."""
    now = now or utcnow()
    row = _usable_token(token, TokenPurpose.reset_password, now)
    user = row.user
    _set_password(user, new_password, now)
    if user.email_verified_at is None:  # the link reached the owner of the address
        user.email_verified_at = now
        deliver_address_mail_to(user)
    log_action(None, "user.reset_password", user)
    return user


def change_password(actor: User, current_password: str, new_password: str, address: str | None,
                    now: datetime | None = None) -> None:
    """Change the actor's own password, which they must know. A wrong current
    password counts as a failed login, so this form cannot be used for guessing."""
    now = now or utcnow()
    email, client = actor.email.lower(), client_address(address)
    wait = login_wait(email, client, now, user=actor)
    if wait:
        raise LoginThrottled(wait)
    if not actor.check_password(current_password):
        _record_failure(email, client, now)
        raise DomainError(_("The current password is not right."))
    _set_password(actor, new_password, now)
    log_action(actor, "user.change_password", actor)


def _set_password(user: User, password: str, now: datetime) -> None:
    user.set_password(password)
    user.password_changed_at = now
    user.end_sessions()  # whoever held a session of the old password holds none
    db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.reset_password,
               AccountToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )


def end_sessions(actor: User, user: User) -> None:
    """Log the user out everywhere: every session of theirs ends, on every device.
    The user themself (the account page) or an admin (for a lost laptop)."""
    if actor.id != user.id and not actor.is_admin:
        raise NotAllowed(_("Only the user or an administrator can end the user's sessions."))
    user.end_sessions()
    log_action(actor, "user.end_sessions", user)


# Tokens: random, sent once, stored only as a hash.

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(user: User, purpose: TokenPurpose, lifetime: timedelta,
                 now: datetime) -> tuple[str, AccountToken]:
    token = secrets.token_urlsafe(32)
    row = AccountToken(user=user, purpose=purpose, token_hash=_hash(token), email=user.email,
                       created_at=now, expires_at=now + lifetime)
    db.session.add(row)
    db.session.flush()
    return token, row


def issue_password_link(user: User, lifetime: timedelta, now: datetime,
                        invited_by: User | None = None) -> tuple[str, AccountToken]:
    """A link to choose a password, for an account made by an administrator's invitation
    (`invited_by`, shown on the invitation's page): it works like a reset link (once, and
    proves the address), for `lifetime`."""
    token, row = _issue_token(user, TokenPurpose.reset_password, lifetime, now)
    row.invited_by_id = getattr(invited_by, "id", None)
    return token, row


def find_invitation_token(token: str, now: datetime | None = None) -> AccountToken:
    """The usable invitation behind a link (to show its page); InvalidLink otherwise, and
    for a plain password-reset link too."""
    row = _usable_token(token, TokenPurpose.reset_password, now or utcnow())
    if row.invited_by_id is None:
        raise InvalidLink()
    return row


def accept_invitation(token: str, password: str, now: datetime | None = None) -> User:
    """The invited person chooses their password through the invitation's link: as a reset
    does (the link then stops working, the address is proved), logged as joining."""
    now = now or utcnow()
    user = find_invitation_token(token, now).user
    _set_password(user, password, now)
    if user.email_verified_at is None:
        user.email_verified_at = now
        deliver_address_mail_to(user)
    log_action(None, "user.accept_invitation", user)
    return user


def _usable_token(token: str, purpose: TokenPurpose, now: datetime) -> AccountToken:
    row = db.session.scalar(
        sa.select(AccountToken).where(AccountToken.token_hash == _hash(token),
                                      AccountToken.purpose == purpose)
    )
    if row is None or not row.is_usable(now):
        raise InvalidLink()
    return row


# Profile.

PROFILE_FIELDS = (
    "name", "name_original", "affiliation", "agency_id", "orcid", "locale", "timezone",
)


def update_profile(actor: User, user: User, **changes) -> dict:
    """Change what the user says about themselves; returns {field: (before, after)}
    for what changed, as written to the audit log."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"not profile fields: {sorted(unknown)}")
    if actor.id != user.id and not actor.is_admin:
        raise NotAllowed(_("You may only change your own profile."))
    values = {key: _clean(key, value) for key, value in changes.items()}
    if "orcid" in values and values["orcid"] is not None:
        orcid = normalize_orcid(values["orcid"])
        if orcid is None:
            raise DomainError(_("This is not a valid ORCID iD."))
        values["orcid"] = orcid
    if not values.get("name", user.name):
        raise DomainError(_("Your name is required."))
    if "locale" in values and values["locale"] not in current_app.config["LANGUAGES"]:
        raise DomainError(_("This language is not offered."))
    if values.get("timezone") and values["timezone"] not in available_timezones():
        raise DomainError(_("Unknown time zone."))
    if "agency_id" in values and values["agency_id"] != user.agency_id:
        reason = user.side_locked_reason()
        if reason is not None and not actor.is_admin:
            raise NotAllowed(str(reason))
    changed = {key: (getattr(user, key), value) for key, value in values.items()
               if getattr(user, key) != value}
    if not changed:
        return {}
    for key, (_before, after) in changed.items():
        setattr(user, key, after)
    log_action(actor, "user.update_profile", user,
               before={k: b for k, (b, _a) in changed.items()},
               after={k: a for k, (_b, a) in changed.items()})
    return changed


def _clean(key: str, value):
    if isinstance(value, str):
        value = value.strip()
        if key != "name":
            value = value or None
    if key == "locale" and value is None:
        value = "en"
    return value


# Logging in, limited per account and per client address.

def client_address(remote_addr: str | None) -> str:
    """The address attempts are counted by: an IPv4 address as is; an IPv6
    client by its /64 network, since one machine commonly holds a whole /64."""
    try:
        ip = ipaddress.ip_address((remote_addr or "").split("%", 1)[0])
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def authenticate(email: str, password: str, remote_addr: str | None,
                 now: datetime | None = None) -> User | None:
    """The user if `password` is theirs; None otherwise, whatever the reason, in about
    the same time. Raises LoginThrottled, without checking the password, inside the
    wait that earlier failures impose. Every checked attempt is recorded, in the
    caller's transaction."""
    now = now or utcnow()
    key, client = email.strip().lower(), client_address(remote_addr)
    user = find_user_by_email(key)
    wait = login_wait(key, client, now, user=user)
    if wait:
        log.info("login refused for %r from %s: %ss to wait", key, client, math.ceil(wait.total_seconds()))
        raise LoginThrottled(wait)
    if user is None:
        ok = verify_against_nothing(password)
    else:
        ok = user.check_password(password) and user.is_active
    if not ok:
        _record_failure(key, client, now)
        return None
    db.session.add(LoginAttempt(email=key, address=client, succeeded=True, created_at=now))
    log_action(user, "user.login", user)
    return user


def login_wait(email: str, client: str, now: datetime, *, user: User | None = None) -> timedelta:
    """How long an attempt for the account `email` from the address `client` must still
    wait (zero: it is checked now): the longer of the account's wait and the address's.

    For the account, failures count since the latest of: the start of the window, its
    last successful login, its last password change (so the owner who resets the
    password by email starts afresh); from an address where the account logged in
    lately, only that address's failures count. For the address, every failure of the
    window counts, a success in between or not: an attacker cannot wipe the slate by
    logging into an account of their own."""
    email = email.strip().lower()
    if user is None:
        user = find_user_by_email(email)
    since = now - LOGIN_WINDOW
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.created_at))
        .where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(True),
               LoginAttempt.created_at > since)
    )
    account_since = max(t for t in (since, last_success, user and user.password_changed_at) if t)
    account = _failures(LoginAttempt.email == email, LoginAttempt.created_at > account_since)
    if _known_address(email, client, now):
        account = account.where(LoginAttempt.address == client)
    return max(_wait(*db.session.execute(account).one(), ACCOUNT_FREE_FAILURES, MAX_ACCOUNT_WAIT, now),
               address_wait(client, now))


def address_wait(client: str, now: datetime) -> timedelta:
    """How long any attempt from `client` must still wait, for its failures of the window
    (wrong passwords and unknown API tokens alike)."""
    address = _failures(LoginAttempt.address == client, LoginAttempt.created_at > now - LOGIN_WINDOW)
    return _wait(*db.session.execute(address).one(), ADDRESS_FREE_FAILURES, MAX_ADDRESS_WAIT, now)


API_TOKEN_ATTEMPT = "(api token)"  # the `email` of a failed API token: no account is named


def record_failed_token(remote_addr: str | None, now: datetime | None = None) -> None:
    """An unknown or malformed API token, counted against its address like a wrong password."""
    _record_failure(API_TOKEN_ATTEMPT, client_address(remote_addr), now or utcnow())


def _failures(*conditions):
    """How many failed attempts match, and when the latest was."""
    return sa.select(sa.func.count(), sa.func.max(LoginAttempt.created_at)).where(
        LoginAttempt.succeeded.is_(False), *conditions
    )


def _wait(failures: int, latest: datetime | None, free: int, cap: timedelta,
          now: datetime) -> timedelta:
    if failures <= free or latest is None:
        return timedelta(0)
    wait = min(FIRST_WAIT * 2 ** min(failures - free - 1, 20), cap)
    return max(latest + wait - now, timedelta(0))


def _known_address(email: str, client: str, now: datetime) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        LoginAttempt.email == email, LoginAttempt.address == client,
        LoginAttempt.succeeded.is_(True), LoginAttempt.created_at > now - KNOWN_ADDRESS_FOR,
    )))


def _record_failure(email: str, client: str, now: datetime) -> None:
    """Keep the failure, log it, and warn when failures pile up on an account or an address."""
    db.session.add(LoginAttempt(email=email, address=client, succeeded=False, created_at=now))
    log.info("login failed for %r from %s", email, client)
    since = now - LOGIN_WINDOW
    for what, condition in ((f"account {email!r}", LoginAttempt.email == email),
                            ("address " + client, LoginAttempt.address == client)):
        count, _latest = db.session.execute(_failures(condition, LoginAttempt.created_at > since)).one()
        if count >= BURST_FAILURES and count % BURST_FAILURES == 0 \
                and (count // BURST_FAILURES) & (count // BURST_FAILURES - 1) == 0:
            log.warning("login failures are piling up: %s failures for the %s in the last %s minutes",
                        count, what, int(LOGIN_WINDOW.total_seconds() // 60))


def purge_account_records(now: datetime | None = None) -> tuple[int, int]:
    """Delete old login attempts and long-dead tokens; returns how many of each."""
    now = now or utcnow()
    attempts = db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.created_at < now - KEEP_LOGIN_ATTEMPTS)
    ).rowcount
    tokens = db.session.execute(
        sa.delete(AccountToken).where(AccountToken.expires_at < now - KEEP_SPENT_TOKENS)
    ).rowcount
    return attempts, tokens
