"""Which Joint Committees a user works in (issue 13): one installation serves many
committees, and staff, secretariat and co-chairs see only their own committees' work.

A role is granted for one committee or, without one, for every committee (admins, and
grants made before roles were per committee). `committees(user, *roles)` is the set of
committee ids the user works in through those roles, or None for every committee;
`within(user, column, *roles)` is the matching condition for a query."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.core.roles import Role

COMMITTEE_ROLES = (Role.staff, Role.secretariat, Role.cochair)


def committees(user, *roles: Role) -> set[int] | None:
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_admin:
        return None
    found: set[int] = set()
    for role in roles or COMMITTEE_ROLES:
        ids = user.committee_ids(role)
        if ids is None:
            return None
        found |= ids
    return found


def within(user, column, *roles: Role):
    """`column` (a committee id) is one of the user's committees through `roles`."""
    ids = committees(user, *roles)
    if ids is None:
        return sa.true()
    return column.in_(sorted(ids)) if ids else sa.false()
