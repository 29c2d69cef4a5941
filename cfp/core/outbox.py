"""The outbox: every email is a row first, written in the transaction that
causes it; a Celery task delivers it once that transaction commits.

Delivery is idempotent: a message is claimed (queued -> sending) in its own
transaction before anything is sent, so two workers never send it twice; a
failure puts it back to queued with the error, the attempt counted and the
instant of the next attempt, growing from a minute to twelve hours (about a day
in all) before the message is marked failed for staff to look at and retry. The
periodic sweep hands due retries, and anything left behind, to the workers. Each
message carries a Message-ID derived from its idempotency key, so that a copy
sent again after a crash between sending and recording is the same message to
the receiving server.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.audit import log_action
from cfp.core.languages import language_of, offered
from cfp.core.roles import Role
from cfp.core.scope import within
from cfp.core.states import StateEnum, labels
from cfp.core.tasks import queue_in_batch
from cfp.core.types import IdMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db


class MessageStatus(StateEnum):
    held = "held"  # waits for staff to release it (decision letters)
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"  # gave up after MAX_ATTEMPTS; staff may retry


labels(
    {
        MessageStatus.held: _l("held for release"),
        MessageStatus.queued: _l("queued"),
        MessageStatus.sending: _l("sending"),
        MessageStatus.sent: _l("sent"),
        MessageStatus.failed: _l("failed"),
    }
)

# The wait before each retry: about a day from the first attempt to the last.
RETRY_DELAYS = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
                timedelta(hours=3), timedelta(hours=6), timedelta(hours=12)]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
logger = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=3)  # a claim older than this was a worker that died (SMTP times out in 30 s)


def claim_lease() -> timedelta:
    """The lease of a claim (CFP_MAIL_CLAIM_LEASE_SECONDS, 3 minutes by default)."""
    seconds = current_app.config.get("MAIL_CLAIM_LEASE_SECONDS")
    return timedelta(seconds=seconds) if seconds else CLAIM_LEASE


class OutboxMessage(IdMixin, db.Model):
    __tablename__ = "outbox_messages"

    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    recipient: Mapped[str] = mapped_column(sa.String(320))
    recipient_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The call the message is about (a receipt, a letter), for the committee's secretariat.
    call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    template: Mapped[str] = mapped_column(sa.String(80))
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[MessageStatus] = mapped_column(
        enum_column(MessageStatus), default=MessageStatus.queued, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transport: Mapped[str | None] = mapped_column(sa.String(20))
    released_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient_user = relationship("User", foreign_keys=[recipient_user_id])

    def is_for(self, user) -> bool:
        return user.is_authenticated and self.recipient_user_id == user.id

    def can_view(self, user) -> bool:
        """Its recipient; admins; the secretariat for the messages about a call of its committee."""
        return self.is_for(user) or (user.is_authenticated and (
            user.is_admin or self._about_a_call_of_secretariat(user)))

    def _about_a_call_of_secretariat(self, user) -> bool:
        if self.call_id is None or not user.is_secretariat:
            return False
        committee_id = db.session.scalar(sa.select(_CALLS.c.committee_id).where(_CALLS.c.id == self.call_id))
        return user.is_secretariat_of(committee_id)

    def can_retry(self, user) -> bool:
        return self.status == MessageStatus.failed and self.can_view(user) and (
            user.is_admin or user.is_secretariat)


# The calls table, by name: a message knows its call's id; core does not import the calls package.
_CALLS = sa.table("calls", sa.column("id"), sa.column("committee_id"))


def visible_messages(user):
    """The messages `user` may read, as a query: their own; the secretariat's, also every
    message about a call of its committees; an admin's, all."""
    query = sa.select(OutboxMessage)
    if user.is_admin:
        return query
    mine = OutboxMessage.recipient_user_id == user.id
    if user.is_secretariat:
        calls = sa.select(_CALLS.c.id).where(within(user, _CALLS.c.committee_id, Role.secretariat))
        return query.where(sa.or_(mine, OutboxMessage.call_id.in_(calls)))
    return query.where(mine)


def _call_id_of(context: dict) -> int | None:
    """The call a message is about, from what its template is given (a call, a proposal,
    an assignment or a project)."""
    for key, path in (("call", ("id",)), ("proposal", ("call_id",)),
                      ("assignment", ("proposal", "call_id")), ("project", ("proposal", "call_id"))):
        value = context.get(key)
        for attribute in path:
            value = getattr(value, attribute, None)
        if isinstance(value, int):
            return value
    return None


def queue_email(
    *,
    to,
    template: str,
    key: str,
    context: dict | None = None,
    hold: bool = False,
    language: str | None = None,
) -> OutboxMessage | None:
    """Write an outbox row for `to` (a User, or an email address) unless one with
    the same idempotency key exists. Delivery is queued after commit.

    The message is written in its recipient's language: a user's profile language; for
    a bare address (somebody invited who has no account yet), `language` as the caller
    chooses it (the language of the side they are invited to), else English."""
    existing = db.session.scalar(sa.select(OutboxMessage).filter_by(idempotency_key=key))
    if existing is not None:
        return existing
    email = getattr(to, "email", to)
    if hasattr(to, "locale"):
        language = language_of(to)
    else:
        language = offered(language) or "en"
    ctx = dict(context or {})
    ctx.setdefault("recipient", to)
    ctx.setdefault("base_url", current_app.config["BASE_URL"])
    with contextlib.ExitStack() as stack:
        if not has_request_context():  # in a worker: links use the configured base URL
            stack.enter_context(
                current_app.test_request_context(base_url=current_app.config["BASE_URL"])
            )
        stack.enter_context(force_locale(language))
        subject = " ".join(render_template(f"emails/{template}.subject.txt", **ctx).split())
        body = render_template(f"emails/{template}.txt", **ctx)
    message = OutboxMessage(
        idempotency_key=key,
        recipient=email,
        recipient_user_id=getattr(to, "id", None),
        call_id=_call_id_of(ctx),
        template=template,
        language=language,
        subject=subject,
        body=body,
        status=MessageStatus.held if hold else MessageStatus.queued,
    )
    db.session.add(message)
    if not hold:
        db.session.flush()
        _queue_delivery(message)
    return message


def deliver_address_mail_to(user) -> int:
    """Once `user` proved the address is theirs (verified it), the mail sent to that address
    before any account held it (a partner's invitation, say) is theirs to read: in the
    embedded mode *Mail* is the only mailbox. Mail of another account stays its own."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.recipient_user_id.is_(None),
               sa.func.lower(OutboxMessage.recipient) == user.email.strip().lower())
        .values(recipient_user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def release_message(message: OutboxMessage, actor) -> bool:
    """Release a held message; returns False when it was already released."""
    if message.status != MessageStatus.held:
        return False
    message.status = MessageStatus.queued
    message.released_by_id = actor.id
    message.released_at = utcnow()
    _queue_delivery(message)
    return True


def claim_message(message_id: int) -> OutboxMessage | None:
    """Atomically move a queued message to `sending`; None if someone else has it."""
    batch = claim_batch([message_id], 1)
    return batch[0] if batch else None


def claim_batch(message_ids: list[int], size: int) -> list[OutboxMessage]:
    """Claim the messages `message_ids` that are still queued (queued -> sending) and, in
    the same transaction, other queued messages whose attempt is due, oldest first, up to
    `size` in all: one delivery sends them over one SMTP connection, and their own tasks
    find them taken. [] when someone else has every one of `message_ids`. On PostgreSQL,
    rows another worker is claiming are skipped."""
    now = utcnow()
    claim = {"status": MessageStatus.sending, "claimed_at": now, "attempts": OutboxMessage.attempts + 1}
    own = list(db.session.scalars(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == MessageStatus.queued)
        .values(**claim).returning(OutboxMessage.id).execution_options(synchronize_session=False)))
    if not own:
        db.session.commit()
        return []
    others: list[int] = []
    if size > len(own):
        waiting = (sa.select(OutboxMessage.id)
                   .where(OutboxMessage.status == MessageStatus.queued,
                          sa.or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
                   .order_by(OutboxMessage.id).limit(size - len(own)))
        if db.session.get_bind().dialect.name == "postgresql":
            # Locked here, then updated: inside the UPDATE, PostgreSQL may run a LIMIT
            # subquery with SKIP LOCKED once per row and claim more than the limit.
            waiting = waiting.with_for_update(skip_locked=True)
        candidates = list(db.session.scalars(waiting))
        if candidates:
            others = list(db.session.scalars(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id.in_(candidates), OutboxMessage.status == MessageStatus.queued)
                .values(**claim).returning(OutboxMessage.id).execution_options(synchronize_session=False)))
    db.session.commit()
    ids = sorted(own) + sorted(others)
    rows = {m.id: m for m in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)).execution_options(populate_existing=True))}
    return [rows[i] for i in ids]


def message_id_for(key: str, mail_from: str) -> str:
    """The Message-ID of the outbox row with idempotency key `key`: the same on every
    attempt, so that a receiving server drops a copy sent twice."""
    domain = mail_from.rpartition("@")[2].strip(" >") or "cfp.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}.cfp@{domain}>"


def _email(message: OutboxMessage) -> EmailMessage:
    mail_from = current_app.config["MAIL_FROM"]
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message_id_for(message.idempotency_key, mail_from)
    email.set_content(message.body)
    return email


class _Connection:
    """One SMTP connection for a batch, opened at the first send. A send that fails closes
    it (the next send opens another); after MAX_FAILURES failures in a batch the server is
    taken as unwell and the batch stops (`gave_up`): what it did not try goes back to the
    queue, so a hanging server never holds a batch past its claims' lease."""

    MAX_FAILURES = 2

    def __init__(self):
        self.smtp: smtplib.SMTP | None = None
        self.failures = 0

    @property
    def gave_up(self) -> bool:
        return self.failures >= self.MAX_FAILURES

    def send(self, message: OutboxMessage) -> None:
        try:
            if self.smtp is None:
                self.smtp = self._open()
            self.smtp.send_message(_email(message))
        except Exception:
            self.failures += 1
            self.close()
            raise

    @staticmethod
    def _open() -> smtplib.SMTP:
        cfg = current_app.config
        smtp = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=30)
        try:
            if cfg["SMTP_STARTTLS"]:
                smtp.starttls()
            if cfg["SMTP_USER"]:
                smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        except Exception:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.quit()
            with contextlib.suppress(Exception):
                self.smtp.close()
            self.smtp = None


def deliver_messages(message_ids: list[int]) -> dict[int, str]:
    """Deliver the messages `message_ids`, and with them the messages waiting for their
    turn (up to MAIL_BATCH in all, over one connection). Returns what happened to each of
    `message_ids`: sent; skipped (someone else has it, or it is not due); retry (failed
    now, the next attempt is scheduled); failed (no attempt left: staff see it and may
    retry it)."""
    batch = claim_batch(message_ids, max(mail_batch(), len(message_ids)))
    connection = _Connection()
    outcomes: dict[int, str] = {}
    try:
        for message in batch:
            if connection.gave_up:
                _unclaim(message)
                continue
            outcomes[message.id] = _deliver(message, connection)
    finally:
        connection.close()
    return {i: outcomes.get(i, "skipped") for i in message_ids}


def deliver_message(message_id: int) -> str:
    """Deliver message `message_id` (and those waiting with it); what happened to it."""
    return deliver_messages([message_id])[message_id]


def _deliver(message: OutboxMessage, connection: _Connection) -> str:
    """Send one claimed message and record the outcome in its own commit."""
    try:
        if current_app.config["SMTP_HOST"]:
            connection.send(message)
            message.transport = "smtp"
        else:
            message.transport = "outbox"  # embedded mode: readable in the app
    except Exception as exc:  # noqa: BLE001  (whatever failed, the row records it and waits)
        logger.warning("delivery of message %s failed (attempt %s): %s", message.id, message.attempts, exc)
        message.last_error = f"{type(exc).__name__}: {exc}"
        if message.attempts >= MAX_ATTEMPTS:
            message.status, message.next_attempt_at = MessageStatus.failed, None
        else:
            message.status = MessageStatus.queued
            message.next_attempt_at = utcnow() + RETRY_DELAYS[message.attempts - 1]
        db.session.commit()
        return message.status.value if message.status == MessageStatus.failed else "retry"
    message.status = MessageStatus.sent
    message.sent_at = utcnow()
    message.last_error = message.next_attempt_at = None
    db.session.commit()
    return "sent"


def _unclaim(message: OutboxMessage) -> None:
    """A message of a batch that stopped before trying it: queued again, its attempt not
    counted (its task, or else the sweep, hands it out again)."""
    message.status, message.attempts, message.claimed_at = MessageStatus.queued, message.attempts - 1, None
    db.session.commit()


def messages_to_requeue(now: datetime | None = None) -> list[int]:
    """What the sweep hands to the workers: retries that are due, first attempts that
    never ran (queued over a minute ago), and claims past their lease (a worker died)."""
    now = now or utcnow()
    stale_claims = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.status == MessageStatus.sending,
            OutboxMessage.claimed_at < now - claim_lease(),
        )
    ).all()
    for message in stale_claims:
        message.status = MessageStatus.queued
    due = sa.or_(
        sa.and_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.created_at < now - timedelta(minutes=1),
                sa.or_(OutboxMessage.released_at.is_(None),
                       OutboxMessage.released_at < now - timedelta(minutes=1))),
        OutboxMessage.next_attempt_at <= now,
    )
    ids = db.session.scalars(
        sa.select(OutboxMessage.id).where(OutboxMessage.status == MessageStatus.queued, due)
    ).all()
    return sorted(set(ids) | {m.id for m in stale_claims})


def retry_message(actor, message: OutboxMessage) -> bool:
    """Staff send a failed message again (a new round of attempts); False if it is
    not failed."""
    if message.status != MessageStatus.failed:
        return False
    message.status, message.attempts, message.next_attempt_at = MessageStatus.queued, 0, None
    log_action(actor, "mail.retry", message, after={"recipient": message.recipient,
                                                    "last_error": message.last_error})
    _queue_delivery(message)
    return True


def mail_batch() -> int:
    """Messages a delivery sends over one connection (CFP_MAIL_BATCH, 50 by default)."""
    return max(1, int(current_app.config.get("MAIL_BATCH") or 1))


def _queue_delivery(message: OutboxMessage) -> None:
    """The delivery of `message`, in one task with the transaction's other messages."""
    queue_in_batch("mail.deliver_email", message.id, mail_batch())
