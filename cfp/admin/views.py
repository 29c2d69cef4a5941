"""The administration pages, for administrators only: agencies, agreements with their
Joint Committee, and people. Each change goes through one operation of
cfp.admin.operations (audited); a refused form comes back with what was typed (422)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from cfp.admin import operations as ops
from cfp.admin.forms import (
    AgencyForm,
    AgreementForm,
    CommitteeForm,
    DeletePersonForm,
    GrantForm,
    InviteForm,
)
from cfp.auth.deletion import deletion_plan
from cfp.auth.models import User, UserRole
from cfp.calls.models import Agency, Call, JointCommittee
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.roles import Role, role_required
from cfp.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")

PEOPLE_PER_PAGE = 25


@bp.before_request
@role_required(Role.admin)
def _admins_only():
    """Every page here is for administrators: others get 403, anonymous users log in."""


def _agencies():
    return db.session.scalars(sa.select(Agency).order_by(Agency.code)).all()


def _committees():
    return db.session.scalars(sa.select(JointCommittee).order_by(JointCommittee.id)).all()


def _refused(exc: DomainError, template: str, **context):
    db.session.rollback()
    flash(exc.message, "danger")
    return render_template(template, **context), 422


@bp.route("/")
def index():
    counts = {"agencies": db.session.scalar(sa.select(sa.func.count(Agency.id))),
              "committees": db.session.scalar(sa.select(sa.func.count(JointCommittee.id))),
              "people": db.session.scalar(sa.select(sa.func.count(User.id)))}
    return render_template("admin/index.html", counts=counts)


# Agencies.

@bp.route("/agencies")
def agencies():
    return render_template("admin/agencies.html", agencies=_agencies())


def _agency_terms(form: AgencyForm) -> ops.AgencyTerms:
    return ops.AgencyTerms(**{k: form[k].data for k in ops.AgencyTerms.__dataclass_fields__})


@bp.route("/agencies/new", methods=["GET", "POST"])
def create_agency():
    form = AgencyForm()
    if form.validate_on_submit():
        try:
            agency = ops.create_agency(current_user, _agency_terms(form))
        except DomainError as exc:
            return _refused(exc, "admin/agency_form.html", form=form, agency=None)
        db.session.commit()
        flash(_("The agency %(name)s is created.", name=agency.short_name), "success")
        return redirect(url_for("admin.agencies"))
    return render_template("admin/agency_form.html", form=form, agency=None), 422 if form.errors else 200


@bp.route("/agencies/<int:agency_id>/edit", methods=["GET", "POST"])
def edit_agency(agency_id: int):
    agency = db.get_or_404(Agency, agency_id)
    form = AgencyForm(obj=agency)
    if form.validate_on_submit():
        try:
            ops.update_agency(current_user, agency, _agency_terms(form))
        except DomainError as exc:
            return _refused(exc, "admin/agency_form.html", form=form, agency=agency)
        db.session.commit()
        flash(_("The agency %(name)s is saved.", name=agency.short_name), "success")
        return redirect(url_for("admin.agencies"))
    return render_template("admin/agency_form.html", form=form, agency=agency), 422 if form.errors else 200


# Agreements and their Joint Committee.

@bp.route("/committees")
def committees():
    calls = dict(db.session.execute(sa.select(Call.committee_id, sa.func.count(Call.id))
                                    .group_by(Call.committee_id)).all())
    return render_template("admin/committees.html", committees=_committees(), calls=calls)


@bp.route("/committees/new", methods=["GET", "POST"])
def create_committee():
    form = AgreementForm()
    form.agency_a_id.choices = form.agency_b_id.choices = options(
        [(a.id, f"{a.code} — {a.short_name}") for a in _agencies()])
    if form.validate_on_submit():
        try:
            committee = ops.create_agreement(current_user, form.agency_a_id.data, form.agency_b_id.data,
                                             form.title.data, form.committee_name.data, form.signed_on.data)
        except DomainError as exc:
            return _refused(exc, "admin/committee_new.html", form=form)
        db.session.commit()
        flash(_("The agreement and its committee are created."), "success")
        return redirect(url_for("admin.committee", committee_id=committee.id))
    return render_template("admin/committee_new.html", form=form), 422 if form.errors else 200


@bp.route("/committees/<int:committee_id>", methods=["GET", "POST"])
def committee(committee_id: int):
    """The committee's settings, its two sides and the people who hold a role in it."""
    committee = db.get_or_404(JointCommittee, committee_id)
    form = CommitteeForm(data=None if request.method == "POST" else {
        "name": committee.name, "agreement_title": committee.agreement.title,
        "signed_on": committee.agreement.signed_on})
    grants = db.session.scalars(sa.select(UserRole).where(UserRole.committee_id == committee.id)
                                .order_by(UserRole.role, UserRole.agency_id)).all()
    context = {"committee": committee, "form": form, "grants": grants}
    if form.validate_on_submit():
        try:
            ops.update_committee(current_user, committee, name=form.name.data,
                                 agreement_title=form.agreement_title.data, signed_on=form.signed_on.data)
        except DomainError as exc:
            return _refused(exc, "admin/committee.html", **context)
        db.session.commit()
        flash(_("The committee's settings are saved."), "success")
        return redirect(url_for("admin.committee", committee_id=committee.id))
    return render_template("admin/committee.html", **context), 422 if form.errors else 200


# People.

@bp.route("/people")
def people():
    search = request.args.get("q", "").strip()
    page = db.paginate(ops.people_query(search), per_page=PEOPLE_PER_PAGE, error_out=False)
    return render_template("admin/people.html", page=page, search=search)


def _grant_choices(form: GrantForm) -> GrantForm:
    form.agency_id.choices = options([(0, _("— none —"))] + [(a.id, f"{a.code} — {a.short_name}")
                                                             for a in _agencies()])
    form.committee_id.choices = options([(0, _("every committee"))] + [(c.id, c.name) for c in _committees()])
    return form


@bp.route("/people/invite", methods=["GET", "POST"])
def invite():
    form = _grant_choices(InviteForm())
    if form.validate_on_submit():
        try:
            user = ops.invite_person(current_user, email=form.email.data, name=form.name.data,
                                     role=Role(form.role.data), agency_id=form.agency_id.data or None,
                                     committee_id=form.committee_id.data or None, locale=form.locale.data)
        except DomainError as exc:
            return _refused(exc, "admin/invite.html", form=form)
        db.session.commit()
        flash(_("%(email)s is invited; an email tells them.", email=user.email), "success")
        return redirect(url_for("admin.person", user_id=user.id))
    return render_template("admin/invite.html", form=form), 422 if form.errors else 200


def _person_page(user: User, form: GrantForm, status: int = 200, token_form=None, new_token=None):
    from cfp.auth.api_tokens import tokens_of
    from cfp.auth.forms import ApiTokenForm

    response = current_app.make_response((render_template(
        "admin/person.html", person=user, form=form, tokens=tokens_of(user), new_token=new_token,
        token_form=token_form or ApiTokenForm(formdata=None)), status))
    if new_token:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/people/<int:user_id>")
def person(user_id: int):
    return _person_page(db.get_or_404(User, user_id), _grant_choices(GrantForm(formdata=None)))


@bp.route("/people/<int:user_id>/roles", methods=["POST"])
def grant_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = _grant_choices(GrantForm())
    if not form.validate_on_submit():
        return _person_page(user, form, 422)
    try:
        ops.grant_role(current_user, user, Role(form.role.data), form.agency_id.data or None,
                       form.committee_id.data or None)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _person_page(user, form, 422)
    db.session.commit()
    flash(_("The role is given to %(name)s; an email tells them.", name=user.name), "success")
    return redirect(url_for("admin.person", user_id=user.id))


def _account_action(user_id: int, action, done: str):
    """Run one operation on the account and come back to its page, with the reason if refused."""
    user = db.get_or_404(User, user_id)
    try:
        action(user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _person_page(user, _grant_choices(GrantForm(formdata=None)), 422)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("admin.person", user_id=user.id))


@bp.route("/people/<int:user_id>/roles/<int:role_id>/revoke", methods=["POST"])
def revoke_role(user_id: int, role_id: int):
    grant = db.session.get(UserRole, role_id)
    if grant is None or grant.user_id != user_id:
        abort(404)
    return _account_action(user_id, lambda u: ops.revoke_role(current_user, u, grant),
                           _("The role is taken away."))


@bp.route("/people/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    return _account_action(user_id, lambda u: ops.deactivate_account(current_user, u),
                           _("The account is deactivated: it cannot log in, and its sessions have ended."))


@bp.route("/people/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    return _account_action(user_id, lambda u: ops.reactivate_account(current_user, u),
                           _("The account is active again."))


@bp.route("/people/<int:user_id>/api-tokens", methods=["GET", "POST"])
def create_api_token(user_id: int):
    """A token for the account (a service account: a program's own account with its roles),
    shown on the page this once (asked again, the address leads back to the person's page)."""
    from cfp.auth.api_tokens import create_api_token
    from cfp.auth.forms import ApiTokenForm
    from cfp.auth.models import ApiScope

    user = db.get_or_404(User, user_id)
    if request.method == "GET":
        return redirect(url_for("admin.person", user_id=user.id) + "#api-tokens")
    form = ApiTokenForm()
    new_token, status = None, 422
    if form.validate_on_submit():
        try:
            new_token, _row = create_api_token(current_user, user, form.name.data, ApiScope(form.scope.data))
        except DomainError as exc:
            db.session.rollback()
            form.name.errors.append(exc.message)
        else:
            db.session.commit()
            form, status = ApiTokenForm(formdata=None), 200
    return _person_page(user, _grant_choices(GrantForm(formdata=None)), status, token_form=form,
                        new_token=new_token)


@bp.route("/people/<int:user_id>/api-tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_api_token(user_id: int, token_id: int):
    from cfp.auth.api_tokens import revoke_api_token
    from cfp.auth.models import ApiToken

    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        abort(404)
    return _account_action(user_id, lambda u: revoke_api_token(current_user, row),
                           _("The token is revoked."))


@bp.route("/people/<int:user_id>/sessions/end", methods=["POST"])
def end_sessions(user_id: int):
    from cfp.auth.operations import end_sessions

    return _account_action(user_id, lambda u: end_sessions(current_user, u),
                           _("Every session of the account has ended, on every device."))


def _deletion_page(user: User, form: DeletePersonForm, refusals=None, status: int = 200):
    return render_template("admin/delete_person.html", person=user, form=form, refusals=refusals,
                           plan=deletion_plan(user, by_admin=True)), status


@bp.route("/people/<int:user_id>/delete", methods=["GET", "POST"])
def delete_person(user_id: int):
    """Delete another person's account at their request: what it does and keeps, then the
    account's address typed to confirm; a refusal says why (and is in the audit log)."""
    user = db.get_or_404(User, user_id)
    form = DeletePersonForm()
    if request.method == "GET":
        return _deletion_page(user, form)
    if not form.validate_on_submit():
        return _deletion_page(user, form, status=422)
    try:
        outcome = ops.delete_person(current_user, user, typed_email=form.email.data, reason=form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _deletion_page(user, form, status=422)
    db.session.commit()  # the request, and its outcome: refused or done
    if not outcome.done:
        return _deletion_page(user, form, refusals=outcome.refusals, status=422)
    flash(_("The account is deleted: it is anonymised, and a confirmation went to its former address."),
          "success")
    return redirect(url_for("admin.person", user_id=user.id))
