"""Forms of the administration pages. The rules of the domain (a known currency and time
zone, two different agencies, a role's side and committee) are the operations' to check;
the forms check what was typed."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from cfp.core.forms import options
from cfp.core.roles import Role

LANGUAGE_CHOICES = (("en", "English"), ("fr", "Français"), ("zh_Hans", "中文"))


class AgencyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=20)])
    code = StringField(_l("Side code"), validators=[DataRequired(), Length(max=8)],
                       description=_l("Two to eight letters, e.g. CN or BE; call references use it."))
    country = StringField(_l("Country"), validators=[DataRequired(), Length(max=100)])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Regexp(
        r"^[A-Za-z]{3}$", message=_l("Three letters of ISO 4217, e.g. EUR or CNY."))],
        description=_l("ISO 4217 code, e.g. EUR or CNY."))
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=60)],
                           description=_l("As in the tz database, e.g. Europe/Brussels."))
    locale = SelectField(_l("Language"), choices=options(LANGUAGE_CHOICES))
    submit = SubmitField(_l("Save"))


class AgreementForm(FlaskForm):
    agency_a_id = SelectField(_l("First agency"), coerce=int)
    agency_b_id = SelectField(_l("Second agency"), coerce=int)
    title = StringField(_l("Title of the agreement"), validators=[DataRequired(), Length(max=300)])
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    committee_name = StringField(_l("Name of its Joint Committee"), validators=[DataRequired(), Length(max=300)])
    submit = SubmitField(_l("Create the agreement and its committee"))


class CommitteeForm(FlaskForm):
    name = StringField(_l("Name of the Joint Committee"), validators=[DataRequired(), Length(max=300)])
    agreement_title = StringField(_l("Title of the agreement"), validators=[DataRequired(), Length(max=300)])
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    submit = SubmitField(_l("Save"))


def role_choices():
    return options([(r.value, r.label) for r in Role])


class GrantForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices)
    agency_id = SelectField(_l("Side (agency)"), coerce=int,
                            description=_l("For staff, reviewers and co-chairs."))
    committee_id = SelectField(_l("Committee"), coerce=int,
                               description=_l("Every committee, or only one."))
    submit = SubmitField(_l("Give the role"))


class InviteForm(GrantForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)],
                       description=_l("Used only if the address has no account yet."))
    locale = SelectField(_l("Language of the emails"), choices=options(LANGUAGE_CHOICES))
    submit = SubmitField(_l("Invite"))


class DeletePersonForm(FlaskForm):
    email = StringField(_l("Type the account's email address to confirm"),
                        validators=[DataRequired(), Length(max=320)])
    reason = TextAreaField(_l("How the person asked"), validators=[DataRequired(), Length(max=2000)],
                           description=_l("For example: their letter of 3 May. Kept in the audit log."))
    submit = SubmitField(_l("Delete the account"))
