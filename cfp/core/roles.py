"""Roles and the checks every view uses.

A role is held per side where it makes sense (staff, reviewer, co-chair); the
secretariat and admins act for both sides. A grant may be limited to one Joint
Committee (staff of MOST for CN–BE is not staff for CN–IT); without a committee it
holds for every committee (admins, and grants made before roles were per committee). Object-level rules are model methods
(`proposal.can_view(user)`), this module only answers "who is this user".
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from cfp.core.states import StateEnum, labels


class Role(StateEnum):
    researcher = "researcher"
    reviewer = "reviewer"
    staff = "staff"
    secretariat = "secretariat"
    cochair = "cochair"
    admin = "admin"


labels(
    {
        Role.researcher: _l("researcher"),
        Role.reviewer: _l("reviewer"),
        Role.staff: _l("agency staff"),
        Role.secretariat: _l("committee secretariat"),
        Role.cochair: _l("co-chair"),
        Role.admin: _l("administrator"),
    }
)

SIDED_ROLES = {Role.staff, Role.reviewer, Role.cochair}


def role_required(*roles: Role):
    """Refuse (403) a logged-in user who holds none of `roles`; login first otherwise."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from cfp.extensions import login_manager

                return login_manager.unauthorized()
            if not any(current_user.has_role(r) for r in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require_secretariat(actor, committee_id: int) -> None:
    """Operations of the committee's secretariat (admins may act for it): the
    secretariat of `committee_id`, not of another committee."""
    from flask_babel import gettext as _

    from cfp.core.errors import NotAllowed

    if not (actor.is_secretariat_of(committee_id) or actor.is_admin):
        raise NotAllowed(_("Only the committee secretariat may do this."))


# Who works at the joint stage (both sides' rankings, lists, decisions).
JOINT_ROLES = (Role.secretariat, Role.cochair, Role.admin)
