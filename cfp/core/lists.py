"""The mail and the audit log as lists: their search, sort and filters
(cfp/core/listing.py) and the one query the page and its exports read."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from cfp.core.audit import AuditEntry, visible_entries
from cfp.core.listing import Filter, ListSpec, Sort, state_filter
from cfp.core.outbox import MessageStatus, OutboxMessage, visible_messages
from cfp.core.params import whole_number

MAIL = ListSpec(
    sorts={"when": Sort(OutboxMessage.created_at), "to": Sort(OutboxMessage.recipient),
           "subject": Sort(OutboxMessage.subject), "status": Sort(OutboxMessage.status),
           "attempts": Sort(OutboxMessage.attempts)},
    default="-when", id_column=OutboxMessage.id, keyset=True,
    search=(OutboxMessage.recipient, OutboxMessage.subject),
    filters=(state_filter("status", _l("Status"), OutboxMessage.status, list(MessageStatus)),))


def mail_query(user) -> sa.Select:
    """The messages `user` may read: the list's rows before its search, filters and order."""
    return visible_messages(user)


def _object_types():
    from cfp.extensions import db

    return [(t, t) for t in db.session.scalars(
        sa.select(AuditEntry.object_type).distinct().where(AuditEntry.object_type != "").order_by(AuditEntry.object_type))]


AUDIT = ListSpec(
    sorts={"when": Sort(AuditEntry.id), "action": Sort(AuditEntry.action),
           "object": Sort(AuditEntry.object_type)},
    default="-when", id_column=AuditEntry.id, keyset=True,
    search=(AuditEntry.action, AuditEntry.object_type),
    filters=(Filter("type", _l("Object kind"), _object_types, lambda value: AuditEntry.object_type == value),),
    params=("id", "actor", "action", "since", "until"))


def audit_query(args=None) -> sa.Select:
    """The log's rows the viewer may read (the secretariat: its committees' entries only)
    with the page's own filters (object number, actor, action's beginning, dates in UTC),
    before the list's search, kind filter and order."""
    args = request.args if args is None else args
    query = visible_entries(current_user).options(sa.orm.joinedload(AuditEntry.actor))
    object_id = args.get("id", type=whole_number)
    actor_id = args.get("actor", type=whole_number)
    action = args.get("action", "").strip()
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    since, until = _day(args.get("since", "").strip()), _day(args.get("until", "").strip())
    if since:
        query = query.where(AuditEntry.created_at >= since)
    if until:
        query = query.where(AuditEntry.created_at < until + timedelta(days=1))
    return query


def _day(text: str) -> datetime | None:
    """The start of a day given as YYYY-MM-DD (in UTC), or None."""
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC) if text else None
    except ValueError:
        return None
