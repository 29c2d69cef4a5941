"""Home, mail (the outbox, readable in the app), audit log, job progress."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from cfp.core.audit import audit_rows
from cfp.core.jobs import Job
from cfp.core.lists import AUDIT, MAIL, audit_query, mail_query
from cfp.core.loading import load_visible
from cfp.core.outbox import OutboxMessage, retry_message
from cfp.core.roles import Role, role_required
from cfp.extensions import db

bp = Blueprint("core", __name__)

# Messages carrying a link that works for whoever holds it: only their recipient reads them.
PRIVATE_TEMPLATES = {"verify_email", "reset_password", "reviewer_pool_invitation",
                     "partner_invitation", "account_invitation"}


@bp.route("/")
def home():
    from cfp.home.todo import todo_for  # the page, not core, knows the stages of the work

    todo = todo_for(current_user) if current_user.is_authenticated else []
    return render_template("core/home.html", todo=todo)


@bp.route("/mail")
@login_required
def outbox():
    """Each user's own messages (a message belongs to an account by its id, never by an
    address: whoever registers an address does not get what was sent to it); the
    secretariat's, also those about the committee's calls; an admin's, all. Filtered by
    status (failed ones with their error, to send again)."""
    listing = MAIL.read()
    page = listing.page(mail_query(current_user))  # keyset pages, newest first by default
    see_all = current_user.is_admin or current_user.is_secretariat
    return render_template("core/outbox.html", page=page, see_all=see_all, listing=listing)


@bp.route("/mail/<int:message_id>")
@login_required
def message(message_id: int):
    msg = load_visible(OutboxMessage, message_id)
    mine = msg.is_for(current_user)
    # Account and invitation links are secrets of their recipient alone, even for admins.
    hide_body = not mine and msg.template in PRIVATE_TEMPLATES
    # Its links are the recipient's to follow: others see them as text.
    return render_template("core/message.html", message=msg, hide_body=hide_body, mine=mine)


@bp.route("/mail/<int:message_id>/retry", methods=["POST"])
@role_required(Role.admin, Role.secretariat)
def retry(message_id: int):
    message = load_visible(OutboxMessage, message_id)
    if not message.can_retry(current_user):
        abort(403)
    retry_message(current_user, message)
    db.session.commit()
    flash(_("The message to %(to)s is sent again.", to=message.recipient), "success")
    return redirect(url_for("core.outbox", status="failed"))


@bp.route("/audit")
@role_required(Role.admin, Role.secretariat)
def audit():
    """The log, newest first, filtered by object, actor, action (its beginning) and dates."""
    listing = AUDIT.read()
    page = listing.page(audit_query())  # keyset pages, newest first by default
    return render_template("core/audit.html", page=page, rows=audit_rows(page.items), listing=listing)


@bp.route("/jobs/<int:job_id>")
@login_required
def job(job_id: int):
    job = load_visible(Job, job_id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            id=job.id, status=job.status.value, progress=job.progress, message=job.message,
            result=job.result,
        )
    return render_template("core/job.html", job=job)
