"""Personal access tokens for the REST API: made (by their owner, or by an admin for a
service account), revoked, and checked on each API request. Only the SHA-256 of a
token is stored; the token itself is shown once, when made. None of these commits."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.auth.models import ApiScope, ApiToken, User
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.types import utcnow
from cfp.extensions import db

TOKEN_PREFIX = "cfp_"
MAX_TOKENS = 20  # active tokens per account
# The last use is written at most this often per token: a busy client does not write
# a row for each of its requests.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(actor: User, owner: User, name: str, scope: ApiScope) -> tuple[str, ApiToken]:
    """A new token for `owner` (the actor's own, or any account's for an admin: a service
    account). Returns the token, to show once, and its row."""
    if not (actor.id == owner.id or actor.is_admin):
        raise NotAllowed(_("Only the account's owner or an administrator may make its API tokens."))
    if not owner.is_active:
        raise DomainError(_("This account is deactivated: it cannot have API tokens."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Name the token, for instance after the program that will use it."))
    active = db.session.scalar(sa.select(sa.func.count(ApiToken.id))
                               .where(ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None)))
    if active >= MAX_TOKENS:
        raise DomainError(_("An account has at most %(n)s API tokens; revoke one first.", n=MAX_TOKENS))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=owner.id, name=name[:100], scope=scope, token_hash=token_hash(token),
                   prefix=token[:len(TOKEN_PREFIX) + 4], created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    log_action(actor, "api_token.create", owner, after={"token": row.id, "name": row.name,
                                                        "scope": scope.value})
    return token, row


def revoke_api_token(actor: User, row: ApiToken, now: datetime | None = None) -> ApiToken:
    if not row.can_revoke(actor):
        raise NotAllowed(_("Only the account's owner or an administrator may revoke its API tokens."))
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        db.session.flush()
        log_action(actor, "api_token.revoke", row.user, after={"token": row.id, "name": row.name})
    return row


def tokens_of(user: User) -> list[ApiToken]:
    """The account's tokens, the active ones first, newest first."""
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())))


def find_active_token(token: str) -> ApiToken | None:
    """The active token `token` is, or None (unknown, revoked, or its account deactivated)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or not row.active:
        return None
    return row


def note_use(row: ApiToken, now: datetime | None = None) -> bool:
    """Record that the token was used now (at most once a minute); True if it wrote."""
    now = now or utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_GRANULARITY:
        return False
    row.last_used_at = now
    db.session.flush()
    return True
