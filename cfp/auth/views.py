from __future__ import annotations

import json

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from cfp.auth import api_tokens
from cfp.auth import operations as ops
from cfp.auth.deletion import delete_account, deletion_plan
from cfp.auth.forms import (
    AccountDeletionForm,
    ApiTokenForm,
    InvitationForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    ProfileForm,
    RegistrationForm,
)
from cfp.auth.models import ApiScope, ApiToken
from cfp.auth.personal_data import record_export
from cfp.calls.models import Agency
from cfp.core import languages
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.redirects import local_path, local_referrer_path
from cfp.core.timezones import timezone_choices
from cfp.extensions import db

bp = Blueprint("auth", __name__)


def _safe_next(default: str) -> str:
    """Where `next` asks to go, if that is a path on this site; `default` otherwise."""
    return local_path(request.args.get("next") or request.form.get("next")) or default


def _login_refused() -> str:
    # One message for an unknown address, a wrong password and a disabled account:
    # none of them is told apart.
    return _("Wrong email or password. After several failures, each new attempt has to wait "
             "a little longer.")


def _no_referrer(response):
    """Pages reached by an emailed link keep its token out of Referer headers."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _side_choices():
    agencies = db.session.scalars(sa.select(Agency).order_by(Agency.code)).all()
    return options([(a.id, f"{a.country} — {a.short_name}") for a in agencies])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("core.home")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = ops.authenticate(form.email.data, form.password.data, request.remote_addr)
        except ops.LoginThrottled as exc:
            # Alike for every account, known or not: the wait is all it says.
            db.session.rollback()
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(exc.seconds)}
        db.session.commit()  # the attempt is kept, whatever its outcome
        if user is not None:
            login_user(user)
            return redirect(_safe_next(url_for("core.home")))
        form.password.errors.append(_login_refused())
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    current_user.end_sessions()  # a copy of this session's cookie must not outlive it
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("core.home"))


@bp.route("/account/sessions/end", methods=["POST"])
@login_required
def end_sessions():
    """Log out everywhere: this browser and every other holding a session."""
    ops.end_sessions(current_user, current_user)
    db.session.commit()
    logout_user()
    flash(_("You are logged out on every device. Log in again to go on."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("core.home")))
    form = RegistrationForm()
    form.agency_id.choices = _side_choices()
    if form.validate_on_submit():
        try:
            ops.register_researcher(
                email=form.email.data, password=form.password.data, name=form.name.data,
                name_original=form.name_original.data, agency_id=form.agency_id.data,
                affiliation=form.affiliation.data, locale=str(get_locale() or "en"),
            )
            db.session.commit()
        except IntegrityError:  # the same address registered at the same instant
            db.session.rollback()
        # The same answer whether the address was free or already had an account (whose
        # owner is told by email): nobody is logged in, everybody is sent to their mailbox.
        flash(_("Thank you: we have sent a message to %(email)s. Follow the link in it to verify "
                "your address. You can log in at once, but start or submit a proposal only once "
                "the address is verified.", email=form.email.data.strip()), "success")
        return redirect(url_for("auth.login", next=_safe_next("") or None))
    return render_template("auth/register.html", form=form)


# Email verification.

@bp.route("/verify-email/<token>")
def verify_email(token: str):
    """The link of the verification email; it works once, logged in or not."""
    try:
        user = ops.verify_email(token)
    except ops.InvalidLink as exc:
        db.session.rollback()
        return _no_referrer(current_app.make_response(
            (render_template("auth/link_invalid.html", reason=exc.message), 400)
        ))
    db.session.commit()
    flash(_("Thank you: your email address %(email)s is verified.", email=user.email), "success")
    target = url_for("auth.account") if current_user.is_authenticated else url_for("auth.login")
    return _no_referrer(redirect(target))


@bp.route("/account/verify-email", methods=["POST"])
@login_required
def resend_verification():
    try:
        ops.resend_verification(current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
    else:
        db.session.commit()
        flash(_("We have sent a new link to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("auth.account"))


# Password reset.

@bp.route("/reset-password", methods=["GET", "POST"])
def forgot_password():
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        ops.request_password_reset(form.email.data)
        db.session.commit()
        # The same answer whether or not an account has this address.
        flash(_("If an account uses the address %(email)s, a link to choose a new password is on "
                "its way there. It works once, within %(minutes)s minutes.",
                email=form.email.data.strip(),
                minutes=int(ops.RESET_PASSWORD_LIFETIME.total_seconds() // 60)), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        row = ops.find_reset_token(token)
    except ops.InvalidLink as exc:
        db.session.rollback()
        return _no_referrer(current_app.make_response(
            (render_template("auth/link_invalid.html", reason=exc.message), 400)
        ))
    if row.invited_by_id is not None:  # an invitation has its own page
        return _no_referrer(redirect(url_for("auth.accept_invitation", token=token)))
    form = PasswordResetForm()
    if form.validate_on_submit():
        user = ops.reset_password(token, form.password.data)
        db.session.commit()
        logout_user()
        login_user(user)
        flash(_("Your password is changed; you are logged in."), "success")
        return _no_referrer(redirect(url_for("core.home")))
    return _no_referrer(current_app.make_response(
        render_template("auth/reset_password.html", form=form, email=row.email)
    ))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """An administrator's invitation: who invited, to which roles, and the password to choose."""
    try:
        row = ops.find_invitation_token(token)
    except ops.InvalidLink as exc:
        db.session.rollback()
        return _no_referrer(current_app.make_response(
            (render_template("auth/link_invalid.html", reason=exc.message), 400)
        ))
    form = InvitationForm()
    if form.validate_on_submit():
        user = ops.accept_invitation(token, form.password.data)
        db.session.commit()
        logout_user()
        login_user(user)
        flash(_("Welcome, %(name)s: your password is set and you are logged in.", name=user.name), "success")
        return _no_referrer(redirect(url_for("core.home")))
    return _no_referrer(current_app.make_response(
        render_template("auth/invitation.html", form=form, invitation=row, person=row.user)
    ))


# The profile.

def _profile_form(user, posted: bool):
    """The profile form, filled from the request when it was posted, otherwise
    from the account (also when the page's other form was posted)."""
    form = ProfileForm() if posted else ProfileForm(formdata=None, obj=user)
    if user.can_change_side():
        form.agency_id.choices = _side_choices()
    else:
        del form.agency_id  # shown as text with the reason; never taken from the request
    form.locale.choices = options(languages.language_choices())  # each in its own name
    form.timezone.choices = [
        SelectChoice("", _("The time zone of my side (%(zone)s)",
                           zone=user.agency.timezone if user.agency else "UTC")),
        *timezone_choices(),
    ]
    if not posted:
        form.timezone.data = user.timezone or ""
    return form


def _account_page(profile_form, password_form, status=200, token_form=None, new_token=None):
    response = current_app.make_response((render_template(
        "auth/account.html", form=profile_form, password_form=password_form,
        side_locked_reason=current_user.side_locked_reason(),
        token_form=token_form or ApiTokenForm(formdata=None), tokens=api_tokens.tokens_of(current_user),
        new_token=new_token,
    ), status))
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # the token is shown once, kept nowhere
    return response


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = _profile_form(current_user, posted=request.method == "POST")
    if form.validate_on_submit():
        changes = {name: form[name].data for name in ops.PROFILE_FIELDS if name in form}
        try:
            changed = ops.update_profile(current_user, current_user, **changes)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Your profile is saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(form, PasswordChangeForm(formdata=None))


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    password_form = PasswordChangeForm()
    if password_form.validate_on_submit():
        try:
            ops.change_password(current_user, password_form.current.data, password_form.new.data,
                                request.remote_addr)
        except ops.LoginThrottled as exc:
            db.session.rollback()
            password_form.current.errors.append(exc.message)
            return _account_page(_profile_form(current_user, posted=False), password_form, 429)
        except DomainError as exc:
            db.session.commit()  # the failed attempt counts against guessing
            password_form.current.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(_profile_form(current_user, posted=False), password_form)


# Personal access tokens for the REST API.

@bp.route("/account/api-tokens", methods=["GET", "POST"])
@login_required
def create_api_token():
    """Make a token; the page shows it this once (never in a redirect or a flash message,
    which would keep it in the session cookie). Asked again (a reload, the language
    switcher), the address leads back to the account page's tokens."""
    if request.method == "GET":
        return redirect(url_for("auth.account") + "#api-tokens")
    form = ApiTokenForm()
    new_token, status = None, 422
    if form.validate_on_submit():
        try:
            new_token, _row = api_tokens.create_api_token(current_user, current_user, form.name.data,
                                                          ApiScope(form.scope.data))
        except DomainError as exc:
            db.session.rollback()
            form.name.errors.append(exc.message)
        else:
            db.session.commit()
            form, status = ApiTokenForm(formdata=None), 200
    return _account_page(_profile_form(current_user, posted=False), PasswordChangeForm(formdata=None),
                         status, token_form=form, new_token=new_token)


@bp.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int):
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    api_tokens.revoke_api_token(current_user, row)
    db.session.commit()
    flash(_("The token “%(name)s” is revoked: programs using it are refused from now on.", name=row.name),
          "success")
    return redirect(url_for("auth.account") + "#api-tokens")


# The language switcher of the navigation bar.

@bp.route("/language", methods=["POST"])
def switch_language():
    """Answer in the chosen language from now on: kept in a cookie for everybody, and for
    a logged-in user saved as their profile's language (the pages and their emails)."""
    form = LanguageForm()
    form.language.choices = languages.language_choices()
    back = redirect(local_path(form.next.data) or local_referrer_path(request.referrer, request.host)
                    or url_for("core.home"), code=303)
    if not form.validate_on_submit():
        flash(_("This language is not offered."), "danger")
        return back
    if current_user.is_authenticated:
        ops.update_profile(current_user, current_user, locale=form.language.data)
        db.session.commit()
    back.set_cookie(languages.COOKIE, form.language.data, max_age=languages.COOKIE_DAYS * 86400,
                    secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax")
    return back
# Personal data: the user's copy of it, and the deletion of the account.

@bp.route("/account/data", methods=["POST"])
@login_required
def export_data():
    """Everything held about the user, as a JSON file to download."""
    data = record_export(current_user, current_user)
    db.session.commit()
    day = data["exported_at"][:10]
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=cfp-my-data-{day}.json",
                             "Cache-Control": "no-store"})


def _deletion_page(form, refusals=None, status=200):
    return render_template("auth/delete_account.html", form=form, plan=deletion_plan(current_user),
                           refusals=refusals), status


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_my_account():
    form = AccountDeletionForm()
    if request.method == "GET":
        return _deletion_page(form)
    if not form.validate_on_submit():
        return _deletion_page(form, status=422)
    try:
        outcome = delete_account(current_user, current_user, form.reason.data or "",
                                 password=form.password.data, address=request.remote_addr)
    except ops.LoginThrottled as exc:
        db.session.rollback()
        form.password.errors.append(exc.message)
        return _deletion_page(form, status=429)
    except DomainError as exc:
        db.session.commit()  # a wrong password counts against guessing
        form.password.errors.append(exc.message)
        return _deletion_page(form, status=422)
    db.session.commit()  # the request, and its outcome: refused or done
    if not outcome.done:
        return _deletion_page(form, refusals=outcome.refusals, status=422)
    logout_user()
    flash(_("Your account is deleted. A confirmation went to your former address."), "info")
    return redirect(url_for("core.home"))
