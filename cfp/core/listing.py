"""Lists cut into pages, the same way on every list page.

Two kinds of page, both read from the query string and shown by the `pager` macro
(templates/macros.html), which keeps the page's other arguments (filters):

- `offset_page(query)`: `?page=N`, OFFSET + LIMIT and one COUNT, for "page N of M".
  For lists that stay small (calls, meetings, a user's own proposals or reviews, a
  side's ranking of one call): OFFSET costs what it skips, which is little there.
- `keyset_page(query, keys)`: `?after=` / `?before=` a cursor (the sort values of the
  last or first row shown), WHERE (key, id) > cursor ORDER BY ... LIMIT. Its cost does
  not grow with how deep one pages, and a row added meanwhile never shifts a page: for
  the lists that grow without bound (the audit log, the mail, the staff's proposals).
  No total: counting the whole list is what it avoids.
- `list_page(rows)`: a page of a list already in memory (the joint ranking, whose order
  is computed from the ranking entries), numbered like `offset_page`.

The page size is the PAGE_SIZE setting (CFP_PAGE_SIZE, 50); `?per_page=` may ask for
another, bounded by MAX_PAGE_SIZE.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import abort, current_app, request, url_for

from cfp.core.params import MAX_ID

CURSOR_ARGS = ("page", "after", "before")


def page_size() -> int:
    """Rows per page: `?per_page=` if given (at most MAX_PAGE_SIZE), else PAGE_SIZE."""
    config = current_app.config
    if not request.args.get("per_page"):
        return config["PAGE_SIZE"]
    return min(_arg_number("per_page"), config["MAX_PAGE_SIZE"])


@dataclass
class Page:
    """One page of a list: its rows and how to reach its neighbours. `first` is the
    position in the whole list of the first row shown, counted from 1 (a ranking's
    row 51 is rank 51), or None for a keyset page (which does not count)."""

    items: list
    param: str = "page"
    number: int | None = None
    pages: int | None = None
    total: int | None = None
    first: int | None = None
    prev_args: dict | None = None
    next_args: dict | None = None
    keyset: bool = False
    extra: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    @property
    def has_prev(self) -> bool:
        return self.prev_args is not None

    @property
    def has_next(self) -> bool:
        return self.next_args is not None


def _arg_number(param: str) -> int:
    """A page number or size from the query string: 1 if absent; 404 if not a whole
    number of at least 1 (a negative, huge or garbage value never reaches the database)."""
    text = request.args.get(param, "")
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:
        abort(404)
    return int(text)


def _numbered(items: list, number: int, size: int, total: int, param: str) -> Page:
    pages = max(1, math.ceil(total / size))
    if number > pages and number != 1:
        abort(404)
    return Page(items=items, param=param, number=number, pages=pages, total=total,
                first=(number - 1) * size + 1,
                prev_args={param: number - 1} if number > 1 else None,
                next_args={param: number + 1} if number < pages else None)


def offset_page(query: sa.Select, param: str = "page") -> Page:
    """Page `?<param>=N` of `query` (which must be ordered): one COUNT and one SELECT."""
    from cfp.extensions import db

    size, number = page_size(), _arg_number(param)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    page = _numbered([], number, size, total or 0, param)  # 404 past the last page, before any OFFSET
    page.items = list(db.session.scalars(query.limit(size).offset((number - 1) * size)).unique().all())
    return page


def list_page(rows: list, param: str = "page") -> Page:
    """Page `?<param>=N` of rows already in memory, in their order."""
    size, number = page_size(), _arg_number(param)
    start = (number - 1) * size
    return _numbered(rows[start:start + size], number, size, len(rows), param)


# ------------------------------------------------------------------------------ keyset


def keyset_page(query: sa.Select, keys: list, descending: bool = False) -> Page:
    """The page of `query` after `?after=` (or before `?before=`) a cursor, ordered by
    `keys` (columns that are never NULL, the last one unique: the id), all ascending or
    all `descending`. One SELECT of size + 1 rows (the extra one says whether more follow)."""
    from cfp.extensions import db

    size = page_size()
    _arg_number("page")  # a numbered link from before (?page=) lands on the start; garbage is a 404
    after, before = _cursor("after", keys), _cursor("before", keys)
    row_key = sa.tuple_(*keys)
    backwards = before is not None
    cursor = before if backwards else after
    if cursor is not None:
        bound = sa.tuple_(*[sa.literal(v, type_=k.type) for v, k in zip(cursor, keys, strict=True)])
        forward_is_greater = not descending
        query = query.where(row_key > bound if forward_is_greater != backwards else row_key < bound)
    ascending = descending == backwards  # the direction the rows are read in
    query = query.order_by(None).order_by(*[k.asc() if ascending else k.desc() for k in keys])
    rows = list(db.session.scalars(query.limit(size + 1)).unique().all())
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    page = Page(items=rows, keyset=True)
    if rows:
        names = [k.key for k in keys]
        first = _encode([getattr(rows[0], n) for n in names])
        last = _encode([getattr(rows[-1], n) for n in names])
        if (more if backwards else cursor is not None):
            page.prev_args = {"before": first}
        if (more if not backwards else True):
            page.next_args = {"after": last}
    elif cursor is not None:  # past the end (or before the start): back to the list's start
        page.prev_args = {}
    return page


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def _encode(values: list) -> str:
    text = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor(param: str, keys: list) -> list | None:
    """The sort values a cursor carries, checked against the keys' types; a cursor
    that is not one of ours answers 404."""
    text = request.args.get(param, "")
    if not text:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError(values)
        return [_typed(v, k) for v, k in zip(values, keys, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        abort(404)


def _typed(value, key):
    python_type = key.type.python_type
    if python_type is bool or isinstance(value, bool):
        raise ValueError(value)
    if python_type is int:
        if not isinstance(value, int) or not -MAX_ID - 1 <= value <= MAX_ID:
            raise ValueError(value)
        return value
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is str:
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    return python_type(value)


def page_url(listing: Page | None = None, /, **changes) -> str:
    """This page's URL with `changes` to its query string, every other argument kept
    (filters), the cursor of `listing` dropped (a new one is in `changes`)."""
    args = request.args.to_dict(flat=False)
    if listing is not None:
        for name in CURSOR_ARGS if listing.keyset else (listing.param,):
            args.pop(name, None)
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **(request.view_args or {}), **args)
