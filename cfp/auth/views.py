from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from cfp.auth.forms import LoginForm, RegistrationForm
from cfp.auth.operations import find_user_by_email, register_researcher
from cfp.calls.models import Agency
from cfp.core.audit import log_action
from cfp.core.errors import DomainError
from cfp.extensions import db
from cfp.core.forms import options

bp = Blueprint("auth", __name__)


def _safe_next(default: str) -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    # Only local paths: never redirect to another host.
    if target.startswith("/") and not target.startswith("//"):
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("core.home")))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if user is not None and user.is_active and user.check_password(form.password.data):
            login_user(user)
            log_action(user, "user.login", user)
            db.session.commit()
            return redirect(_safe_next(url_for("core.home")))
        form.password.errors.append(_("Wrong email or password."))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("core.home"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegistrationForm()
    agencies = db.session.scalars(sa.select(Agency).order_by(Agency.code)).all()
    form.agency_id.choices = options([(a.id, f"{a.country} — {a.short_name}") for a in agencies])
    if form.validate_on_submit():
        try:
            user = register_researcher(
                email=form.email.data, password=form.password.data, name=form.name.data,
                name_original=form.name_original.data, agency_id=form.agency_id.data,
                affiliation=form.affiliation.data,
            )
        except DomainError as exc:
            form.email.errors.append(exc.message)
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
            return redirect(_safe_next(url_for("core.home")))
    return render_template("auth/register.html", form=form)
