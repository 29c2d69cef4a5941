"""Writers for accounts. They never commit: the view does, once."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.auth.models import User
from cfp.core.audit import log_action
from cfp.core.errors import DomainError
from cfp.core.roles import Role
from cfp.extensions import db


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def register_researcher(
    *, email: str, password: str, name: str, agency_id: int, affiliation: str,
    name_original: str | None = None, locale: str = "en",
) -> User:
    if find_user_by_email(email) is not None:
        raise DomainError(_("An account with this email already exists; please log in."))
    user = User(
        email=email.strip().lower(),
        name=name.strip(),
        name_original=(name_original or "").strip() or None,
        agency_id=agency_id,
        affiliation=affiliation.strip(),
        locale=locale,
    )
    user.set_password(password)
    user.grant(Role.researcher)
    db.session.add(user)
    db.session.flush()
    log_action(user, "user.register", user, after={"email": user.email, "agency_id": agency_id})
    return user
