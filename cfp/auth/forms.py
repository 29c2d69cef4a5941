from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from cfp.auth.orcid import is_valid_orcid
from cfp.core.forms import options

PASSWORD_MIN = 10


def latin_script(form, field) -> None:
    """Letters of the Latin script only (accents allowed): the name as it is
    printed in letters, reports and the partner's documents."""
    for char in field.data or "":
        if char.isalpha() and not unicodedata.name(char, "").startswith("LATIN"):
            raise ValidationError(_l("Write this name in Latin letters; a name in another script "
                                     "goes in the next field."))


def orcid_checksum(form, field) -> None:
    if field.data and not is_valid_orcid(field.data):
        raise ValidationError(_l("This is not a valid ORCID iD: it has the form "
                                 "0000-0002-1825-0097 and its last character is a check digit."))


def _new_password(label):
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=200, message=_l(
            "At least %(min)d characters (and at most %(max)d)."))],
        description=_l("At least %(n)s characters.", n=PASSWORD_MIN),
    )


def _repeat(field_name: str):
    return PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo(field_name, message=_l("The passwords differ."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Log in"))


class RegistrationForm(FlaskForm):
    name = StringField(_l("Name (Latin script)"),
                       validators=[DataRequired(), Length(max=200), latin_script])
    name_original = StringField(
        _l("Name in original script (optional)"), validators=[Optional(), Length(max=200)],
        description=_l("For example 李伟."),
    )
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)],
                       description=_l("We send a link to this address to verify it."))
    agency_id = SelectField(_l("Your side"), coerce=int, validators=[DataRequired()])
    affiliation = StringField(_l("Affiliation"), validators=[DataRequired(), Length(max=300)])
    password = _new_password(_l("Password"))
    confirm = _repeat("password")
    submit = SubmitField(_l("Create my account"))


class ProfileForm(FlaskForm):
    name = StringField(_l("Name (Latin script)"),
                       validators=[DataRequired(), Length(max=200), latin_script])
    name_original = StringField(
        _l("Name in original script (optional)"), validators=[Optional(), Length(max=200)],
        description=_l("For example 李伟."),
    )
    affiliation = StringField(_l("Affiliation"), validators=[DataRequired(), Length(max=300)])
    agency_id = SelectField(_l("Your side"), coerce=int, validators=[DataRequired()])
    orcid = StringField(
        _l("ORCID iD (optional)"), validators=[Optional(), Length(max=60), orcid_checksum],
        description=_l("Like 0000-0002-1825-0097; the address https://orcid.org/… works too."),
    )
    locale = SelectField(_l("Preferred language"), validators=[DataRequired()],
                         description=_l("For the pages and the emails you receive."))
    timezone = SelectField(_l("Time zone"), validators=[Optional()],
                           description=_l("Instants are shown in this zone."))
    submit = SubmitField(_l("Save my profile"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = _new_password(_l("New password"))
    confirm = _repeat("new")
    submit = SubmitField(_l("Change my password"))


class PasswordResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    submit = SubmitField(_l("Send me a link"))


class PasswordResetForm(FlaskForm):
    password = _new_password(_l("New password"))
    confirm = _repeat("password")
    submit = SubmitField(_l("Set my new password"))


class InvitationForm(FlaskForm):
    password = _new_password(_l("Password"))
    confirm = _repeat("password")
    submit = SubmitField(_l("Set my password and join"))


class LanguageForm(FlaskForm):
    """The switcher of the navigation bar: one button per language, and the page to go
    back to."""
    language = SelectField(_l("Language"), validators=[DataRequired()])
    next = HiddenField()
class AccountDeletionForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired()],
                             description=_l("To make sure it is you who asks."))
    reason = TextAreaField(_l("Why (optional)"), validators=[Optional(), Length(max=2000)],
                           description=_l("Kept in the audit log with your request."))
    confirm = BooleanField(_l("I understand that this cannot be undone."), validators=[DataRequired()])
    submit = SubmitField(_l("Delete my account"))


class ApiTokenForm(FlaskForm):
    """A new personal access token for the REST API."""

    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What will use it, e.g. “our grants database”."))
    scope = SelectField(_l("Scope"), choices=options([("read", _l("read")), ("write", _l("read and write"))]),
                        default="read")
    submit = SubmitField(_l("Make a token"))
