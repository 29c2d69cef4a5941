"""Shared by the account tests: reading the links the app emails."""
from __future__ import annotations

import re

import sqlalchemy as sa

from cfp.core.outbox import OutboxMessage
from cfp.extensions import db


def messages(template: str, recipient: str) -> list[OutboxMessage]:
    return db.session.scalars(
        sa.select(OutboxMessage).filter_by(template=template, recipient=recipient).order_by(OutboxMessage.id)
    ).all()


def emailed_path(template: str, recipient: str) -> str:
    """The path of the link in the latest such message (the base URL is http://localhost)."""
    body = messages(template, recipient)[-1].body
    return re.search(r"http://localhost(/\S+)", body).group(1)
