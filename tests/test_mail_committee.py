"""The secretariat sees every message about the calls of its committee (decision letters,
receipts), never others' private links; admins and the secretariat find failed messages
with their error and send them again."""
from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa

from cfp.core.outbox import MessageStatus, OutboxMessage, queue_email
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f


def _receipt_for(proposal, pi, key):
    return queue_email(to=pi, template="proposal_withdrawn", key=key,
                       context={"proposal": proposal, "actor": SimpleNamespace(name="Partner PI"),
                                "reason": "Moving institution"})


def test_the_secretariat_reads_the_mail_about_its_committees_calls(client):
    cn, _be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn, name="Li Wei")
    proposal = f.proposal(f.call(committee), pi, title="Quiet cells")
    about_call = _receipt_for(proposal, pi, "about-the-call")
    private = queue_email(to=pi, template="verify_email", key="verify-li",
                          context={"link": "http://localhost/verify-email/secret-token", "hours": 72})
    db.session.commit()
    assert fresh(about_call).call_id == proposal.call_id and fresh(private).call_id is None

    f.login(client, f.user(Role.secretariat))
    page = client.get("/mail").data.decode()
    assert f"/mail/{about_call.id}" in page and f"/mail/{private.id}" not in page
    assert client.get(f"/mail/{about_call.id}").status_code == 200
    assert client.get(f"/mail/{private.id}").status_code == 404
    client.post("/logout")
    f.login(client, f.user(Role.staff, agency=cn))
    assert client.get(f"/mail/{about_call.id}").status_code == 404


def fresh(message):
    return db.session.get(OutboxMessage, message.id, populate_existing=True)


def test_failed_messages_are_listed_with_their_error_and_sent_again(client):
    cn, _be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn)
    proposal = f.proposal(f.call(committee), pi)
    message = _receipt_for(proposal, pi, "failed-one")
    db.session.flush()
    message.status, message.attempts = MessageStatus.failed, 8
    message.last_error = "SMTPRecipientsRefused: mailbox unavailable"
    other = f.outbox_message(pi, subject="Sent fine")
    db.session.commit()

    f.login(client, f.user(Role.secretariat))
    page = client.get("/mail?status=failed").data.decode()
    assert "mailbox unavailable" in page and f"/mail/{message.id}/retry" in page
    assert f"/mail/{other.id}\"" not in page
    assert client.post(f"/mail/{message.id}/retry").status_code == 302
    message = fresh(message)
    assert message.status == MessageStatus.sent and message.attempts == 1  # a new round, sent
    entry = db.session.scalar(sa.text("select action from audit_entries where action = 'mail.retry'"))
    assert entry == "mail.retry"
    client.post("/logout")
    f.login(client, pi)  # not for applicants
    assert client.post(f"/mail/{message.id}/retry").status_code == 403
