"""The shared pagination (cfp/core/listing.py): keyset pages visit every row once, even
when rows share their sort value; cursors and page numbers that are not ours are 404."""
from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from cfp.core.listing import keyset_page, offset_page
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from tests import factories as f


def _pages(app, query, keys, descending, start_args="", rel="next"):
    """The ids of every page, following next (or prev) cursors from `start_args`."""
    pages, args = [], start_args
    while args is not None:
        with app.test_request_context(f"/mail?{args}"):
            page = keyset_page(query, keys, descending=descending)
        pages.append([m.id for m in page.items])
        link = page.next_args if rel == "next" else page.prev_args
        args = None if link is None else "&".join(f"{k}={v}" for k, v in link.items())
        assert len(pages) < 30
    return pages


@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_visit_every_row_once_when_rows_share_a_sort_value(app, monkeypatch, descending):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    f.world()
    admin = f.user(Role.admin)
    subjects = ["B", "A", "C"] * 6  # 18 messages, three sort values
    random.Random(12).shuffle(subjects)
    for subject in subjects:
        f.outbox_message(admin, subject=subject)
    query = sa.select(OutboxMessage).where(OutboxMessage.recipient_user_id == admin.id)
    keys = [OutboxMessage.subject, OutboxMessage.id]
    pages = _pages(app, query, keys, descending)
    seen = [i for page in pages for i in page]
    ordered = sorted(((m.subject, m.id) for m in OutboxMessage.query.filter_by(recipient_user_id=admin.id)),
                     reverse=descending)
    assert seen == [i for _s, i in ordered]  # each once, in order
    assert [len(p) for p in pages] == [5, 5, 5, 3]
    # Back from the last page by the previous links: the same pages, the other way.
    with app.test_request_context("/mail"):
        first = keyset_page(query, keys, descending=descending)
    with app.test_request_context("/mail?after=" + first.next_args["after"]):
        second = keyset_page(query, keys, descending=descending)
    with app.test_request_context("/mail?before=" + second.prev_args["before"]):
        back = keyset_page(query, keys, descending=descending)
    assert [m.id for m in back.items] == pages[0]
    assert not back.has_prev and back.has_next


@pytest.mark.parametrize("args", ["after=garbage", "before=WyJ4Il0", "after=WzEsMiwzXQ", "after=%00",
                                  "after=" + "A" * 3000, "page=abc", "per_page=0", "per_page=-3"])
def test_a_cursor_or_number_that_is_not_ours_is_a_404(app, args):
    query = sa.select(OutboxMessage)
    with app.test_request_context(f"/mail?{args}"), pytest.raises(NotFound):
        keyset_page(query, [OutboxMessage.id], descending=True)


def test_a_numbered_page_past_the_end_is_a_404_and_per_page_is_bounded(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PAGE_SIZE", 7)
    f.world()
    admin = f.user(Role.admin)
    for _ in range(10):
        f.outbox_message(admin)
    query = sa.select(OutboxMessage).where(OutboxMessage.recipient_user_id == admin.id).order_by(OutboxMessage.id)
    with app.test_request_context("/mail?per_page=1000"):
        page = offset_page(query)
    assert (len(page.items), page.pages, page.total, page.first) == (7, 2, 10, 1)
    with app.test_request_context("/mail?per_page=1000&page=2"):
        assert len(offset_page(query).items) == 3
    with app.test_request_context("/mail?page=3&per_page=7"), pytest.raises(NotFound):
        offset_page(query)


def test_the_mail_and_audit_pages_answer_a_forged_cursor_with_404(client):
    f.world()
    f.login(client, f.user(Role.admin))
    assert client.get("/mail?after=WyJ4Il0").status_code == 404
    assert client.get("/audit?before=bm90IGpzb24").status_code == 404
    assert client.get("/proposals/staff?after=WzFd").status_code in (403, 404)
