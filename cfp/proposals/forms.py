from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DecimalField, EmailField, HiddenField, IntegerField, SelectField, StringField,
    SubmitField, TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional
from cfp.core.forms import options


class ProposalForm(FlaskForm):
    """Drafts save without completeness checks; submission checks everything."""

    version = HiddenField()
    title = StringField(_l("Title (English)"), validators=[DataRequired(), Length(max=300)])
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=40)])
    abstract = TextAreaField(_l("Abstract"), validators=[Optional(), Length(max=20000)],
                             render_kw={"rows": 8})
    keywords = StringField(_l("Keywords (comma separated)"), validators=[Optional(), Length(max=500)])
    priority_area_id = SelectField(_l("Priority area"), coerce=int, validators=[Optional()])
    duration_months = IntegerField(_l("Duration (months)"), validators=[Optional(), NumberRange(min=1, max=120)])
    institution_a = StringField(validators=[Optional(), Length(max=300)])
    amount_a = DecimalField(places=2, validators=[Optional(), NumberRange(min=0)])
    institution_b = StringField(validators=[Optional(), Length(max=300)])
    amount_b = DecimalField(places=2, validators=[Optional(), NumberRange(min=0)])
    submit = SubmitField(_l("Save the draft"))


class InvitePartnerForm(FlaskForm):
    email = EmailField(_l("Partner PI's email"), validators=[DataRequired(), Email()])
    submit = SubmitField(_l("Send the invitation"))


class ConfirmForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])
    agree = BooleanField(_l("I confirm this version of the proposal"), validators=[DataRequired()])
    submit = SubmitField(_l("Confirm"))


class SubmitForm(FlaskForm):
    submit = SubmitField(_l("Submit the proposal"))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Withdraw"))


class JoinForm(FlaskForm):
    submit = SubmitField(_l("Join as PI"))


class EligibilityForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=options([("eligible", _l("eligible")), ("ineligible", _l("ineligible"))]))
    reason = TextAreaField(_l("Reason (required if ineligible)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record"))
