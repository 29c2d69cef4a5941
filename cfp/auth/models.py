from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.roles import SIDED_ROLES, Role
from cfp.core.types import IdMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db

_hasher = PasswordHasher()


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

    agency = relationship("Agency")
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.email}>"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.set_password(password)
        return True

    @property
    def effective_timezone(self) -> str:
        if self.timezone:
            return self.timezone
        if self.agency is not None:
            return self.agency.timezone
        return "UTC"

    def has_role(self, role: Role, agency=None) -> bool:
        agency_id = getattr(agency, "id", agency)
        return any(
            r.role == role and (agency_id is None or r.agency_id in (None, agency_id))
            for r in self.roles
        )

    def sides_for(self, role: Role) -> set[int]:
        """Agency ids for which the user holds a sided role."""
        return {r.agency_id for r in self.roles if r.role == role and r.agency_id is not None}

    def staff_side_ids(self) -> set[int]:
        return self.sides_for(Role.staff)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.admin)

    @property
    def is_secretariat(self) -> bool:
        return self.has_role(Role.secretariat)

    @property
    def display_name(self) -> str:
        return f"{self.name} ({self.name_original})" if self.name_original else self.name

    def grant(self, role: Role, agency=None) -> UserRole:
        agency_id = getattr(agency, "id", agency)
        if role in SIDED_ROLES and agency_id is None:
            raise ValueError(f"role {role.value} needs a side")
        for r in self.roles:
            if r.role == role and r.agency_id == agency_id:
                return r
        user_role = UserRole(role=role, agency_id=agency_id)
        self.roles.append(user_role)
        return user_role


class UserRole(IdMixin, db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))

    user: Mapped[User] = relationship(back_populates="roles")
    agency = relationship("Agency")

    __table_args__ = (sa.UniqueConstraint("user_id", "role", "agency_id"),)
