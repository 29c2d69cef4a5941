"""The audit log: who did what to which object, when, with before/after.

Each entry belongs to the Joint Committee of the object it names (issue 13), so that a
committee's people read only their committee's entries; entries about the installation
itself (accounts, agencies, agreements) belong to none, and only administrators read them.

Rows are only ever inserted; the ORM refuses to update or delete them, and on
PostgreSQL a trigger (see the initial migration) refuses it in the database too.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from cfp.core.roles import Role
from cfp.core.scope import within
from cfp.core.types import IdMixin, UTCDateTime, utcnow
from cfp.extensions import db


class AuditEntry(IdMixin, db.Model):
    __tablename__ = "audit_entries"

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(80))
    object_type: Mapped[str] = mapped_column(sa.String(60))
    object_id: Mapped[int | None] = mapped_column(sa.Integer)
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    # The Joint Committee of the object (see committee_of); None: installation-wide.
    committee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("joint_committees.id"), index=True)

    actor = relationship("User")

    __table_args__ = (sa.Index("ix_audit_entries_object", "object_type", "object_id"),)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _unproxied(value):
    """The object behind a proxy such as Flask-Login's current_user."""
    get = getattr(value, "_get_current_object", None)
    return get() if callable(get) else value


# The relationships through which an object belongs to a committee, tried in this order:
# a call side, an amendment, a tie-break, a project list or a message through its call; an
# eligibility check, an assignment or a project through its proposal; a review through its
# assignment; an agenda item through its meeting.
COMMITTEE_PATHS = ("call", "proposal", "assignment", "meeting", "decision")


def committee_of(obj) -> int | None:
    """The id of the Joint Committee whose work `obj` is, or None for the installation's
    own objects (accounts, agencies, agreements, reviewer pools). An object says so itself
    with `audit_committee_id` (a committee, a job), or has a `committee_id` column (calls,
    meetings, decisions), or belongs to one of those through COMMITTEE_PATHS."""
    if obj is None:
        return None
    if hasattr(obj, "audit_committee_id"):
        return obj.audit_committee_id
    committee_id = getattr(obj, "committee_id", None)
    if isinstance(committee_id, int):
        return committee_id
    for name in COMMITTEE_PATHS:
        parent = getattr(obj, name, None)
        if parent is not None and isinstance(parent, db.Model):
            return committee_of(parent)
    call_id = getattr(obj, "call_id", None)  # a call known by its id only (a message)
    return call_committee_id(call_id) if isinstance(call_id, int) else None


# The calls table, by name: core does not import the calls package.
_CALLS = sa.table("calls", sa.column("id"), sa.column("committee_id"))


def call_committee_id(call_id: int | None) -> int | None:
    if call_id is None:
        return None
    return db.session.scalar(sa.select(_CALLS.c.committee_id).where(_CALLS.c.id == call_id))


def log_action(actor, action: str, obj, before: dict | None = None, after: dict | None = None):
    """Append an audit entry, in the committee of `obj` (committee_of). `obj` must have been
    flushed if it is new."""
    actor, obj = _unproxied(actor), _unproxied(obj)
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()
    entry = AuditEntry(
        committee_id=committee_of(obj),
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    db.session.add(entry)
    return entry


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("the audit log is append-only")


# --- reading the log ------------------------------------------------------------------

def visible_entries(user):
    """The entries `user` may read, as a query: an administrator's, all; the secretariat's,
    those of its committees (never the installation-wide ones, which name accounts)."""
    query = sa.select(AuditEntry)
    if user.is_admin:
        return query
    return query.where(AuditEntry.committee_id.is_not(None),
                       within(user, AuditEntry.committee_id, Role.secretariat))


LABEL_ATTRIBUTES = ("reference", "code", "number", "title", "name", "email")


@dataclass
class AuditRow:
    entry: AuditEntry
    object_label: str
    changes: list[tuple[str, Any, Any]]  # (what, before, after); before is None when new


def _label(obj, object_type: str, object_id) -> str:
    if obj is None:
        return f"{object_type} #{object_id}"
    if hasattr(obj, "audit_label"):  # an object that says what of it the log may show
        return f"{object_type} {obj.audit_label}"
    for attribute in LABEL_ATTRIBUTES:
        value = getattr(obj, attribute, None)
        if value:
            return f"{object_type} {value}"
    return f"{object_type} #{object_id}"


def changes(before: dict | None, after: dict | None) -> list[tuple[str, Any, Any]]:
    """What changed: each key whose value differs, with its value before and after."""
    before, after = before or {}, after or {}
    keys = list(before) + [k for k in after if k not in before]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def audit_rows(entries: list[AuditEntry]) -> list[AuditRow]:
    """Entries with their objects named (one query per kind of object on the page)."""
    registry = db.Model.registry._class_registry
    wanted: dict[str, set] = {}
    for e in entries:
        if e.object_id is not None and e.object_type in registry:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
    found = {}
    for object_type, ids in wanted.items():
        model = registry[object_type]
        for obj in db.session.scalars(sa.select(model).where(model.id.in_(ids))):
            found[(object_type, obj.id)] = obj
    return [AuditRow(e, _label(found.get((e.object_type, e.object_id)), e.object_type, e.object_id),
                     changes(e.before, e.after)) for e in entries]
