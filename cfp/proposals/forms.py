from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    FieldList,
    FileField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from cfp.calls.models import TEXT_LIMITS
from cfp.core.forms import options
from cfp.proposals.vocabulary import BUDGET_CATEGORIES, CAREER_STAGES, MEMBER_ROLES

BLANK_ROWS = 1  # empty rows under each list of the editor; the page adds more


class MemberForm(Form):
    """A team member. A row left empty is ignored; completeness is checked on submission."""

    agency_id = SelectField(_l("Side"), coerce=int)
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    # The choices are the vocabulary's, plus what the proposal already holds (see editor.py).
    role = SelectField(_l("Role"), choices=MEMBER_ROLES.options)
    career_stage = SelectField(_l("Career stage"), choices=CAREER_STAGES.options)
    affiliation = StringField(_l("Affiliation"), validators=[Optional(), Length(max=300)])

    @property
    def is_empty(self) -> bool:
        return not (self.name.data or "").strip()

    def validate(self, extra_validators=None) -> bool:
        return self.is_empty or super().validate(extra_validators)


class TripForm(Form):
    direction = SelectField(_l("Direction"))
    traveller = StringField(_l("Traveller"), validators=[Optional(), Length(max=200)])
    days = IntegerField(_l("Days"), validators=[Optional(), NumberRange(min=1, max=366)])
    year = IntegerField(_l("Project year"), validators=[Optional(), NumberRange(min=1, max=10)])

    @property
    def is_empty(self) -> bool:
        return not (self.traveller.data or "").strip() and not self.days.data

    def validate(self, extra_validators=None) -> bool:
        if self.is_empty:
            return True
        ok = super().validate(extra_validators)
        for field in (self.traveller, self.days, self.year):
            if not field.data:
                field.errors = list(field.errors) + [_l("Needed for a trip.")]
                ok = False
        return ok


class BudgetLineForm(Form):
    agency_id = SelectField(_l("Side"), coerce=int)
    year = IntegerField(_l("Project year"), validators=[Optional(), NumberRange(min=1, max=10)])
    category = SelectField(_l("Category"), choices=BUDGET_CATEGORIES.options)
    amount = DecimalField(_l("Amount"), places=2, validators=[Optional(), NumberRange(min=0)])

    @property
    def is_empty(self) -> bool:
        return self.amount.data is None

    def validate(self, extra_validators=None) -> bool:
        if self.is_empty:
            return True
        ok = super().validate(extra_validators)
        if not self.year.data:
            self.year.errors = list(self.year.errors) + [_l("Needed for a budget line.")]
            ok = False
        return ok


class ProposalForm(FlaskForm):
    """Drafts save without completeness checks; submission checks everything."""

    version = HiddenField()
    # What the database keeps; each call sets a lower limit, checked on submission (limits.py).
    title = StringField(_l("Title (English)"),
                        validators=[DataRequired(), Length(max=TEXT_LIMITS["title"].ceiling)])
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=TEXT_LIMITS["acronym"].ceiling)])
    abstract = TextAreaField(_l("Abstract"), validators=[Optional(), Length(max=TEXT_LIMITS["abstract"].ceiling)],
                             render_kw={"rows": 8})
    keywords = StringField(_l("Keywords (comma separated)"),
                           validators=[Optional(), Length(max=TEXT_LIMITS["keywords"].ceiling)])
    priority_area_id = SelectField(_l("Priority area"), coerce=int, validators=[Optional()])
    duration_months = IntegerField(_l("Duration (months)"), validators=[Optional(), NumberRange(min=1, max=120)])
    institution_a = StringField(validators=[Optional(), Length(max=300)])
    amount_a = DecimalField(places=2, validators=[Optional(), NumberRange(min=0)])
    institution_b = StringField(validators=[Optional(), Length(max=300)])
    amount_b = DecimalField(places=2, validators=[Optional(), NumberRange(min=0)])
    phd_a = SelectField(choices=options([("", "—"), ("yes", _l("yes")), ("no", _l("no"))]), validate_choice=False)
    country_a = StringField(validators=[Optional(), Length(max=100)])
    phd_b = SelectField(choices=options([("", "—"), ("yes", _l("yes")), ("no", _l("no"))]), validate_choice=False)
    country_b = StringField(validators=[Optional(), Length(max=100)])
    members = FieldList(FormField(MemberForm), min_entries=0)
    trips = FieldList(FormField(TripForm), min_entries=0)
    budget_lines = FieldList(FormField(BudgetLineForm), min_entries=0)
    submit = SubmitField(_l("Save the draft"))


class DocumentForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired()])
    file = FileField(_l("PDF file"))
    submit = SubmitField(_l("Upload"))


class DeleteDocumentForm(FlaskForm):
    submit = SubmitField(_l("Delete"))


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


class DeclinePreProposalForm(FlaskForm):
    reason = TextAreaField(_l("Reason, sent to both PIs"), render_kw={"rows": 4},
                           validators=[DataRequired(message=_l("Give the reason for declining the pre-proposal.")),
                                       Length(max=2000)])
    submit = SubmitField(_l("Decline the pre-proposal"))


class JoinForm(FlaskForm):
    submit = SubmitField(_l("Join as PI"))


class RuleReviewForm(FlaskForm):
    passed = SelectField(_l("Result"), choices=options([("yes", _l("passes")), ("no", _l("fails"))]))
    reason = StringField(_l("Reason (required to override)"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Confirm or override"))


class EligibilityForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=options([("eligible", _l("eligible")), ("ineligible", _l("ineligible"))]))
    reason = TextAreaField(_l("Reason (required if ineligible)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record"))


class ExtensionForm(FlaskForm):
    until = DateTimeLocalField(_l("New closing instant (your time zone)"), format="%Y-%m-%dT%H:%M",
                               validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Grant the extension"))
