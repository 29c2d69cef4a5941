"""Home, mail (the outbox, readable in the app), audit log, job progress."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from cfp.core import exports
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
    """The log, newest first, filtered by object, actor, action (its beginning) and dates;
    the secretariat reads its committees' entries only (audit_query)."""
    listing = AUDIT.read()
    page = listing.page(audit_query())  # keyset pages, newest first by default
    return render_template("core/audit.html", page=page, rows=audit_rows(page.items), listing=listing)


@bp.route("/audit/export.<fmt>")
@role_required(Role.admin, Role.secretariat)
def audit_export(fmt: str):
    return exports.respond("core.audit", fmt)


def _audit_authorize() -> None:
    exports.require_role(Role.admin, Role.secretariat)


def _audit_table(user, query) -> exports.Table:
    def text(value) -> str:
        return "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def changed(row) -> str:
        return "\n".join(f"{what}: {text(before)} → {text(after)}" if row.entry.before is not None
                         else f"{what}: {text(after)}" for what, before, after in row.changes)

    columns = [
        exports.Column(_("When"), lambda r: r.entry.created_at, "datetime"),
        exports.Column(_("Who"), lambda r: r.entry.actor.display_name if r.entry.actor else _("system")),
        exports.Column(_("Actor (account number)"), lambda r: r.entry.actor_id, "int"),
        exports.Column(_("Action"), lambda r: r.entry.action),
        exports.Column(_("Object kind"), lambda r: r.entry.object_type),
        exports.Column(_("Object number"), lambda r: r.entry.object_id, "int"),
        exports.Column(_("Object"), lambda r: r.object_label),
        exports.Column(_("What changed"), changed),
    ]
    return exports.Table("audit-log", columns, AUDIT.read(query).apply(audit_query(query)), prepare=audit_rows,
                         title=_("Audit log"))


exports.register("core.audit", authorize=_audit_authorize, build=_audit_table, label=_l("Audit log"))


@bp.route("/jobs/<int:job_id>")
@login_required
def job(job_id: int):
    job = load_visible(Job, job_id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            id=job.id, status=job.status.value, progress=job.progress, message=job.message,
            result=job.result,
        )
    return render_template("core/job.html", job=job, is_export=job.kind == exports.JOB_KIND,
                           label=exports.job_label(job) if job.kind == exports.JOB_KIND else job.kind)


@bp.route("/jobs/<int:job_id>/download")
@login_required
def job_download(job_id: int):
    """The file of an export job: for the user who asked for it only, while they may
    still see the list (the list's own checks, again)."""
    job = db.get_or_404(Job, job_id)
    if job.kind != exports.JOB_KIND or job.created_by_id != current_user.id:
        abort(404)
    params = job.params or {}
    exports.EXPORTS[params["export"]].authorize(**params.get("view_args", {}))
    path = exports.export_path(job)
    if path is None:
        abort(404)
    return exports.file_response(path.read_bytes(), job.result["filename"], job.result["format"])
