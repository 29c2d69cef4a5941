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
from flask import abort, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _

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


def keyset_page(query: sa.Select, keys: list, descending: bool = False, values: list | None = None) -> Page:
    """The page of `query` after `?after=` (or before `?before=`) a cursor, ordered by
    `keys` (columns that are never NULL, the last one unique: the id), all ascending or
    all `descending`. One SELECT of size + 1 rows (the extra one says whether more follow).
    `values` gives, per key, a function of a row that returns its value (by default the
    row's attribute named like the key's column)."""
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
        readers = values or [(lambda row, name=k.key: getattr(row, name)) for k in keys]
        first = _encode([read(rows[0]) for read in readers])
        last = _encode([read(rows[-1]) for read in readers])
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
    return this_page_url(args)


def this_page_url(args: dict) -> str:
    """This page (its route's own arguments) with the query string `args`; a query
    argument named like one of the route's or like url_for's own (`_external`,
    `_scheme`…) is no filter and is left out (it would clash, or make a link elsewhere)."""
    view_args = request.view_args or {}
    kept = {k: v for k, v in args.items() if k not in view_args and not k.startswith("_")}
    return url_for(request.endpoint, **view_args, **kept)


# ------------------------------------------------------------- search, sort and filters


@dataclass(frozen=True)
class Sort:
    """A column a list may be sorted by: `?sort=<key>` ascending, `?sort=-<key>` descending,
    ties broken by the row's id in the same direction (a stable order, page after page).
    `value(row)` gives a row's value for a keyset cursor (by default the attribute named
    like the column); `keyset=False` for a column that may be NULL or is not the row's
    (NULL breaks the (value, id) comparison): sorted by it, the list has numbered pages."""

    column: object
    label: object = ""
    value: object = None
    keyset: bool = True

    def value_of(self, row):
        return self.value(row) if self.value else getattr(row, self.column.key)


@dataclass(frozen=True)
class Filter:
    """`?<param>=<value>`: the rows that `condition(value)` keeps. `choices()` gives the
    (value, label) pairs the filter bar offers, computed when the page is asked for (they
    may depend on the user); a value not among them is refused (400)."""

    param: str
    label: object
    choices: object
    condition: object


@dataclass(frozen=True)
class ListSpec:
    """What a list page lets its reader do with its rows, declared once per list:
    `sorts` (key → Sort), the `default` sort (`"-when"`: descending), `search` (the
    columns `?q=` looks in, case-insensitively, each word in one of them), `filters`,
    the `id_column` that breaks ties, and whether its pages are `keyset` pages."""

    sorts: dict
    default: str
    id_column: object
    search: tuple = ()
    filters: tuple = ()
    keyset: bool = False
    params: tuple = ()  # other arguments the page's own fields send (the filter bar's caller)

    def read(self, args=None) -> Listing:
        """The reader's choices from the query string, checked: an unknown sort key or a
        filter value not offered is a 400 that says which and what is allowed."""
        args = request.args if args is None else args
        sort = args.get("sort", "") or self.default
        key = sort.removeprefix("-")
        if key not in self.sorts:
            _refuse(_("Unknown sort key “%(key)s”: sort by one of %(keys)s.",
                      key=key[:40], keys=", ".join(sorted(self.sorts))))
        chosen, offered = {}, {}
        for f in self.filters:
            offered[f.param] = [(str(v), label) for v, label in f.choices()]
            value = args.get(f.param, "")
            if value:
                if value not in {v for v, _label in offered[f.param]}:
                    _refuse(_("Unknown value “%(value)s” for %(param)s.", value=value[:40], param=f.param))
                chosen[f.param] = value
        search = " ".join(args.get("q", "").split())[:200] if self.search else ""
        return Listing(spec=self, key=key, descending=sort.startswith("-"), q=search,
                       filters=chosen, offered=offered)


def _refuse(reason: str):
    """A 400 page that says what was wrong with the list's query string."""
    abort(make_response(render_template("errors/400.html", reason=reason), 400))


@dataclass
class Listing:
    """One request's search, sort and filters on a list (`ListSpec.read`): `apply` adds
    them to the list's query, `page` cuts it into pages, the macros show them."""

    spec: ListSpec
    key: str
    descending: bool
    q: str = ""
    filters: dict = field(default_factory=dict)
    offered: dict = field(default_factory=dict)

    @property
    def sort(self) -> Sort:
        return self.spec.sorts[self.key]

    def where(self, query: sa.Select) -> sa.Select:
        """The search and the filters, without the order (for a COUNT or an export)."""
        for word in self.q.split():
            query = query.where(sa.or_(*[sa.func.lower(c).contains(word.lower(), autoescape=True)
                                         for c in self.spec.search]))
        for f in self.spec.filters:
            if f.param in self.filters:
                query = query.where(f.condition(self.filters[f.param]))
        return query

    def order(self, query: sa.Select) -> sa.Select:
        """Ordered by the sort column, then the id, both the same way; rows without a
        value (NULL) last either way, on every database."""
        column, ident = self.sort.column, self.spec.id_column
        if self.descending:
            by = column.desc() if self.sort.keyset else column.desc().nulls_last()
            return query.order_by(None).order_by(by, ident.desc())
        by = column.asc() if self.sort.keyset else column.asc().nulls_last()
        return query.order_by(None).order_by(by, ident.asc())

    def apply(self, query: sa.Select) -> sa.Select:
        """`query` searched, filtered and ordered: what the page shows, and what an export
        of the list writes."""
        return self.order(self.where(query))

    @property
    def keyset(self) -> bool:
        """Keyset pages when the list has them and its sort column can carry a cursor;
        otherwise numbered pages (a nullable or joined column)."""
        return self.spec.keyset and self.sort.keyset

    def page(self, query: sa.Select) -> Page:
        """A page of `apply(query)`: by a (sort value, id) cursor on a keyset list, else by
        number."""
        if self.keyset:
            return keyset_page(self.where(query), [self.sort.column, self.spec.id_column],
                               descending=self.descending,
                               values=[self.sort.value_of, lambda row: row.id])
        return offset_page(self.apply(query))

    def sort_url(self, key: str) -> str:
        """This page sorted by `key` (ascending, or descending if it is sorted by it
        ascending now), its filters kept, back to the first page."""
        flip = key == self.key and not self.descending
        args = request.args.to_dict(flat=False)
        for name in CURSOR_ARGS:
            args.pop(name, None)
        args["sort"] = ("-" if flip else "") + key
        return this_page_url(args)

    def aria_sort(self, key: str) -> str | None:
        if key != self.key:
            return None
        return "descending" if self.descending else "ascending"

    @property
    def active(self) -> bool:
        return bool(self.q or self.filters or any(request.args.get(p) for p in self.spec.params))

    def kept_args(self) -> dict:
        """The query string's other arguments (not the filters, search, sort or cursor),
        for hidden fields of the filter bar."""
        own = {"q", "sort", *CURSOR_ARGS, *self.spec.params, *(f.param for f in self.spec.filters)}
        return {k: v for k, v in request.args.items(multi=True) if k not in own}


def rows_listing(listing: Listing, rows: list, *, text, sort_values: dict, conditions: dict) -> list:
    """The same search, filters and sort on rows already in memory (the joint ranking):
    `text(row)` is what `?q=` looks in, `sort_values[key](row)` a row's sort value (None
    last), `conditions[param](row, value)` whether a filter keeps a row."""
    words = [w.lower() for w in listing.q.split()]
    filters = list(listing.filters.items())
    if words or filters:
        kept = [r for r in rows if all(w in text(r).lower() for w in words)
                and all(conditions[p](r, v) for p, v in filters)]
    else:
        kept = list(rows)  # neither search nor filter: every row, without a test of each
    if listing.key == listing.spec.default.removeprefix("-") and not listing.descending:
        return kept  # the list's own order
    value = sort_values[listing.key]
    present = [r for r in kept if value(r) is not None]
    missing = [r for r in kept if value(r) is None]
    present.sort(key=value, reverse=listing.descending)  # stable: the list's order breaks ties
    return present + missing


def state_choices(states) -> object:
    """A filter's choices for these enum members: (stored value, translated label)."""
    return lambda: [(s.value, s.label) for s in states]


def state_filter(param: str, label, column, states) -> Filter:
    """`?<param>=<state>`: rows whose `column` holds that state (one of `states`)."""
    enum = type(next(iter(states)))
    return Filter(param, label, state_choices(states), lambda value: column == enum(value))
