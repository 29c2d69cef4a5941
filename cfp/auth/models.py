from __future__ import annotations

import contextlib
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.roles import SIDED_ROLES, Role
from cfp.core.states import StateEnum, labels
from cfp.core.types import IdMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash of nothing anybody knows, made with the current parameters, so that
    checking a password of an unknown account costs what checking a real one does."""
    import secrets

    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_against_nothing(password: str) -> bool:
    """Spend the time of one password check and answer no."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), password)
    return False


class User(IdMixin, UserMixin, db.Model):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_original: Mapped[str | None] = mapped_column(sa.String(200))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    affiliation: Mapped[str | None] = mapped_column(sa.String(300))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    orcid: Mapped[str | None] = mapped_column(sa.String(19))
    locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    timezone: Mapped[str | None] = mapped_column(sa.String(60))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # NULL until the owner follows the link emailed to the address.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last change or reset of the password (not the first one, at registration).
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session of the user (see get_id): adding one ends them all.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when the owner deleted the account: what identified them is gone (cfp/auth/deletion.py).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Not a column: set by end_sessions() during the request that ends them.
    keeps_current_session = False

    agency = relationship("Agency")
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.email}>"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        """What a session (or a remember cookie) holds: the id and the session
        generation, so that `end_sessions` makes every earlier one worthless."""
        return f"{self.id}:{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """End every session of the user, on every device. The request that does
        it keeps its own session if it is the user's (cfp/auth/sessions.py): the
        user who changes their password stays logged in, the thief does not."""
        self.session_generation = (self.session_generation or 0) + 1
        self.keeps_current_session = True

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return verify_against_nothing(password)
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.set_password(password)
        return True

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def owns_address(self, email: str) -> bool:
        """The account is the proven owner of `email`: the same address, verified. Only
        then is something sent to that address (an invitation) the account's."""
        return self.email_verified and self.email.lower() == email.strip().lower()

    def can_apply(self) -> bool:
        """May start and submit proposals: an active account whose email address
        is verified. An unverified account may log in, see every page its roles
        allow, edit its profile and password and ask for a new link; the
        proposal operations refuse it the start and the submission."""
        return self.is_active and self.email_verified

    def is_principal_investigator(self) -> bool:
        """PI of any proposal, in any state."""
        from cfp.proposals.models import ProposalSide

        return db.session.scalar(
            sa.select(sa.exists().where(ProposalSide.pi_user_id == self.id))
        )

    def side_locked_reason(self):
        """Why the side of the account cannot change now, or None if it can."""
        if self.id is not None and self.is_principal_investigator():
            return _l("Your side cannot change while you are the principal investigator "
                      "of a proposal: each proposal has exactly one PI per side.")
        if any(r.role in SIDED_ROLES for r in self.roles):
            return _l("Your side is set by the roles you hold for an agency "
                      "(staff, reviewer or co-chair); an administrator can change it.")
        return None

    def can_change_side(self) -> bool:
        return self.side_locked_reason() is None

    @property
    def effective_timezone(self) -> str:
        if self.timezone:
            return self.timezone
        if self.agency is not None:
            return self.agency.timezone
        return "UTC"

    def has_role(self, role: Role, agency=None, committee=None) -> bool:
        """Whether the user holds `role`; for `agency` (a side) and for `committee` when
        given. A grant without a side or without a committee holds for every side or
        every committee (admins, and grants made before roles were per committee)."""
        agency_id, committee_id = getattr(agency, "id", agency), getattr(committee, "id", committee)
        return any(
            r.role == role and (agency_id is None or r.agency_id in (None, agency_id))
            and (committee_id is None or r.committee_id in (None, committee_id))
            for r in self.roles
        )

    def committee_ids(self, role: Role | None = None) -> set[int] | None:
        """The committees the user belongs to through a grant (of `role`, if given):
        None means every committee (an admin, or a grant not limited to a committee);
        an empty set, none."""
        if role is None and self.has_role(Role.admin):
            return None
        ids: set[int] = set()
        for r in self.roles:
            if (role is None and r.role == Role.researcher) or (role is not None and r.role != role):
                continue  # a researcher belongs to no committee
            if r.committee_id is None:
                return None
            ids.add(r.committee_id)
        return ids

    def sides_for(self, role: Role, committee=None) -> set[int]:
        """Agency ids for which the user holds a sided role (in `committee`, if given)."""
        committee_id = getattr(committee, "id", committee)
        return {r.agency_id for r in self.roles if r.role == role and r.agency_id is not None
                and (committee_id is None or r.committee_id in (None, committee_id))}

    def staff_side_ids(self) -> set[int]:
        return self.sides_for(Role.staff)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.admin)

    @property
    def is_secretariat(self) -> bool:
        """Secretariat of some committee (pages check `is_secretariat_of` the object's)."""
        return self.has_role(Role.secretariat)

    def is_secretariat_of(self, committee) -> bool:
        return self.has_role(Role.secretariat, committee=committee)

    def is_cochair_of(self, committee) -> bool:
        return self.has_role(Role.cochair, committee=committee)

    def is_staff_of(self, committee) -> bool:
        """Staff of either side of `committee`."""
        return self.has_role(Role.staff, committee=committee)

    @property
    def display_name(self) -> str:
        return f"{self.name} ({self.name_original})" if self.name_original else self.name

    def grant(self, role: Role, agency=None, committee=None) -> UserRole:
        """Give a role: for a side (staff, reviewer, co-chair need one), and for one
        committee or, without it, for every committee."""
        agency_id, committee_id = getattr(agency, "id", agency), getattr(committee, "id", committee)
        if role in SIDED_ROLES and agency_id is None:
            raise ValueError(f"role {role.value} needs a side")
        for r in self.roles:
            if r.role == role and r.agency_id == agency_id and r.committee_id == committee_id:
                return r
        user_role = UserRole(role=role, agency_id=agency_id, committee_id=committee_id)
        self.roles.append(user_role)
        self.end_sessions()  # a role change ends every earlier session
        return user_role

    def revoke(self, role: Role, agency=None, committee=None) -> bool:
        """Take a role away (that exact grant); True if the user held it."""
        agency_id, committee_id = getattr(agency, "id", agency), getattr(committee, "id", committee)
        held = [r for r in self.roles
                if r.role == role and r.agency_id == agency_id and r.committee_id == committee_id]
        for r in held:
            self.roles.remove(r)
        if held:
            self.end_sessions()
        return bool(held)


def verified_account(email: str) -> User | None:
    """The account that proved it owns `email`, if any: mail sent to the address
    belongs to that account; an unverified account with the address owns nothing."""
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == email.strip().lower(),
                              User.email_verified_at.is_not(None))
    )


class UserRole(IdMixin, db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    # NULL: the grant holds for every committee (admins; grants older than per-committee roles).
    committee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("joint_committees.id"))

    user: Mapped[User] = relationship(back_populates="roles")
    agency = relationship("Agency")
    committee = relationship("JointCommittee")

    __table_args__ = (sa.UniqueConstraint("user_id", "role", "agency_id", "committee_id"),)

    @property
    def description(self) -> str:
        """The role, its side and its committee, in the current language."""
        parts = [str(self.role.label)]
        if self.agency is not None:
            parts.append(self.agency.short_name)
        if self.committee is not None:
            parts.append(self.committee.name)
        elif self.role not in (Role.admin, Role.researcher):
            parts.append(str(_l("every committee")))
        return " — ".join(parts)


class LoginAttempt(IdMixin, db.Model):
    """One checked try at logging in, successful or not, kept so that guessing can be
    slowed down per account and per client address across every web process."""

    __tablename__ = "login_attempts"

    email: Mapped[str] = mapped_column(sa.String(320))  # as typed, lowercased; may match no account
    address: Mapped[str] = mapped_column(sa.String(64))  # client address (an IPv6 client: its /64)
    succeeded: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.Index("ix_login_attempts_email_created_at", "email", "created_at"),
        sa.Index("ix_login_attempts_address_created_at", "address", "created_at"),
    )


class TokenPurpose(StateEnum):
    verify_email = "verify_email"
    reset_password = "reset_password"


labels(
    {
        TokenPurpose.verify_email: _l("email verification"),
        TokenPurpose.reset_password: _l("password reset"),
    }
)


class AccountToken(IdMixin, db.Model):
    """A link emailed to the owner of an account. Only the SHA-256 of the random
    token is stored: the database alone gives nobody a working link. A token
    works once (used_at), until expires_at, and for the address it was sent to."""

    __tablename__ = "account_tokens"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on a link to choose a password sent with an administrator's invitation: who invited.
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_usable(self, now: datetime) -> bool:
        return (
            self.used_at is None
            and now < self.expires_at
            and self.user.is_active
            and self.user.email.lower() == self.email.lower()
        )


class ApiScope(StateEnum):
    """What a personal access token may do in the REST API (/api/v1)."""

    read = "read"
    write = "write"


labels({ApiScope.read: _l("read"), ApiScope.write: _l("read and write")})


class ApiToken(IdMixin, db.Model):
    """A personal access token for the REST API, named by its owner (or made by an admin
    for a service account). Only the SHA-256 of the random token is stored: it is shown
    once, when made. A token acts as its owner, within its scopes, until revoked."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # "read" or "write" (which includes read).
    scope: Mapped[ApiScope] = mapped_column(enum_column(ApiScope), default=ApiScope.read)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token's first characters, to tell tokens apart on the account page.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.user.is_active

    def allows(self, scope: ApiScope) -> bool:
        return scope == ApiScope.read or self.scope == ApiScope.write

    def can_revoke(self, user) -> bool:
        return user.is_authenticated and (user.id == self.user_id or user.is_admin)
