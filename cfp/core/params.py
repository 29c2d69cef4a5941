"""Whole numbers from the request, bounded to what the database holds.

An id in a path, or an id or a number in a query string or a form, is a whole
number an INTEGER column holds (ids are INTEGER primary keys: 2^31 - 1 at most on
PostgreSQL); a page number is one whose OFFSET a BIGINT holds. Anything else is
no object of ours (404) or no number at all (the view's default), never an error
of the database driver (an out-of-range parameter, an overflowing OFFSET)."""
from __future__ import annotations

import builtins
import re

from flask import abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest INTEGER, so the largest id
MAX_OFFSET = 2**63 - 1  # the largest BIGINT: OFFSET is one
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,10}")


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` that matches only 0 … MAX_ID: a larger id answers 404 like any
    id that names nothing. Registered on the app in place of Werkzeug's."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        bounded = MAX_ID if max is None else builtins.min(max, MAX_ID)
        super().__init__(map, fixed_digits, min, bounded, signed)


def whole_number(text: str) -> int:
    """`type=` for request.args / request.form: an int an INTEGER column holds,
    written in ASCII digits; ValueError otherwise (so `get()` gives its default)."""
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError(f"not a whole number: {text!r}")
    value = int(text)
    if not -MAX_ID - 1 <= value <= MAX_ID:
        raise ValueError(f"out of range: {text!r}")
    return value


def page_arguments(page: int | None, per_page: int | None,
                   max_per_page: int | None) -> tuple[int, int]:
    """The page and page size to show, from the arguments or else the query string
    (`?page=`, `?per_page=`). A page number that is not one (0, negative, too large
    for any offset, not a number) answers 404."""
    if per_page is None:
        per_page = _query_number("per_page", default=20)
        if per_page < 1:
            abort(404)
    if max_per_page is not None:
        per_page = builtins.min(per_page, max_per_page)
    if page is None:
        page = _query_number("page", default=1)
    if page < 1 or (page - 1) * per_page > MAX_OFFSET:
        abort(404)
    return page, per_page


def _query_number(name: str, default: int) -> int:
    text = request.args.get(name, "")
    if text == "":
        return default
    try:
        return whole_number(text)
    except ValueError:
        abort(404)
