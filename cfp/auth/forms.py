from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Log in"))


class RegistrationForm(FlaskForm):
    name = StringField(_l("Name (Latin script)"), validators=[DataRequired(), Length(max=200)])
    name_original = StringField(
        _l("Name in original script (optional)"), validators=[Optional(), Length(max=200)]
    )
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    agency_id = SelectField(_l("Your side"), coerce=int, validators=[DataRequired()])
    affiliation = StringField(_l("Affiliation"), validators=[DataRequired(), Length(max=300)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create my account"))
