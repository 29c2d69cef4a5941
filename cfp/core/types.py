"""Column types and mixins shared by every feature's models."""
from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# The instant being replayed, if any: set only by frozen_time() below, never by a request.
_replayed_instant: ContextVar[datetime | None] = ContextVar("replayed_instant", default=None)


def utcnow() -> datetime:
    """The app's single clock: now, or the past instant that frozen_time() replays."""
    return _replayed_instant.get() or datetime.now(UTC)


@contextmanager
def frozen_time(instant: datetime) -> Iterator[datetime]:
    """Run a block as if it happened at `instant`: every check against utcnow() and every
    timestamp written meanwhile (rows, audit entries, outbox rows) sees that instant.
    Only code enters it (the demo loader replays past events through the operations);
    nothing in a request can. Flush before leaving: column defaults are read at flush."""
    if instant.tzinfo is None:
        raise ValueError("frozen_time needs an aware instant")
    token = _replayed_instant.set(instant.astimezone(UTC))
    try:
        yield instant
    finally:
        _replayed_instant.reset(token)


class UTCDateTime(TypeDecorator):
    """An instant stored as naive UTC (portable across SQLite and PostgreSQL),
    always returned timezone-aware in UTC. Naive input is refused."""

    impl = sa.DateTime
    cache_ok = True

    @property
    def python_type(self):  # a keyset cursor (cfp/core/listing.py) reads its values back by it
        return datetime

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


MONEY = sa.Numeric(14, 2)


def enum_column(enum_cls: type[enum.Enum], **kw) -> sa.Enum:
    """A portable enum column: VARCHAR guarded by a CHECK constraint, storing values."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls) + 4,
        values_callable=lambda cls: [m.value for m in cls],
        name=kw.pop("name", enum_cls.__name__.lower()),
        validate_strings=True,
    )


class IdMixin:
    id: Mapped[int] = mapped_column(primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))
