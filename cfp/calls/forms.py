from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from cfp.calls.models import (
    ABSTRACT_WORDS_CEILING,
    ABSTRACT_WORDS_DEFAULT,
    TEXT_LIMITS,
    Instrument,
    Stages,
)
from cfp.core.forms import options
from cfp.core.timezones import timezone_choices


class CallSideForm(Form):
    budget_envelope = DecimalField(_l("Budget envelope"), places=2, validators=[DataRequired(), NumberRange(min=0)])
    max_request = DecimalField(_l("Maximum request per project"), places=2, validators=[DataRequired(), NumberRange(min=0)])
    per_diem = DecimalField(_l("Per diem"), places=2, validators=[Optional(), NumberRange(min=0)])
    travel_cap = DecimalField(_l("Travel cap per trip"), places=2, validators=[Optional(), NumberRange(min=0)])
    reviewers_per_proposal = IntegerField(_l("Reviewers per proposal"), default=2, validators=[DataRequired(), NumberRange(min=1, max=10)])
    eligibility_rules = TextAreaField(_l("Eligibility rules"), validators=[Optional(), Length(max=5000)])
    required_documents = TextAreaField(_l("Required documents (one per line)"), validators=[Optional(), Length(max=2000)])
    max_document_pages = IntegerField(_l("Maximum pages per document"), validators=[Optional(), NumberRange(min=1, max=1000)])
    max_document_mb = IntegerField(_l("Maximum size per document (MB)"), validators=[Optional(), NumberRange(min=1, max=100)])
    # Automatic eligibility rules, checked on submission, then confirmed by this side's staff.
    rule_pi_has_phd = BooleanField(_l("Rule: the PI holds a PhD"))
    rule_affiliation_in_country = BooleanField(_l("Rule: the PI's institution is in this side's country"))
    rule_one_proposal_per_pi = BooleanField(_l("Rule: at most one proposal per PI"))
    rule_budget_within_cap = BooleanField(_l("Rule: the request is within the maximum"))
    rule_documents_present = BooleanField(_l("Rule: all required documents are present"))
    rule_duration_min = IntegerField(_l("Rule: shortest duration (months)"), validators=[Optional(), NumberRange(min=1, max=120)])
    rule_duration_max = IntegerField(_l("Rule: longest duration (months)"), validators=[Optional(), NumberRange(min=1, max=120)])

    SIMPLE_RULES = ("pi_has_phd", "affiliation_in_country", "one_proposal_per_pi", "budget_within_cap",
                    "documents_present")

    def rule_config(self) -> list[dict]:
        rules = [{"rule": r} for r in self.SIMPLE_RULES if getattr(self, f"rule_{r}").data]
        low, high = self.rule_duration_min.data, self.rule_duration_max.data
        if low or high:
            rules.append({"rule": "duration_within", "min": low, "max": high})
        return rules

    def fill_rules(self, config: list[dict] | None) -> None:
        for rule in config or []:
            if rule.get("rule") in self.SIMPLE_RULES:
                getattr(self, f"rule_{rule['rule']}").data = True
            elif rule.get("rule") == "duration_within":
                self.rule_duration_min.data, self.rule_duration_max.data = rule.get("min"), rule.get("max")


class CriterionForm(Form):
    name = StringField(_l("Criterion"), validators=[Optional(), Length(max=200)])
    weight = DecimalField(_l("Weight"), places=3, validators=[Optional(), NumberRange(min=0.001)])
    threshold = DecimalField(_l("Threshold"), places=1, validators=[Optional(), NumberRange(min=0)])


def _text_limit_field(name: str, label) -> IntegerField:
    limit = TEXT_LIMITS[name]
    return IntegerField(label, validators=[Optional(), NumberRange(min=1, max=limit.ceiling)],
                        description=_l("Checked when a proposal is submitted; drafts may hold more. "
                                       "At most %(ceiling)s. Blank: %(default)s.",
                                       ceiling=limit.ceiling, default=limit.default))


class CallForm(FlaskForm):
    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=40)],
                            description=_l("For example CN-BE-2021"))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    instrument = SelectField(_l("Instrument"), choices=options([(i.value, i.label) for i in Instrument]))
    stages = SelectField(_l("Stages"), choices=options([(s.value, s.label) for s in Stages]))
    timezone = SelectField(_l("Time zone of the dates below"), choices=timezone_choices)
    opens_at = DateTimeLocalField(_l("Opens"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    closes_at = DateTimeLocalField(_l("Closes"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    full_closes_at = DateTimeLocalField(_l("Full proposals close (two-stage calls)"), format="%Y-%m-%dT%H:%M",
                                        validators=[Optional()])
    review_due_at = DateTimeLocalField(_l("Reviews due"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    duration_months = IntegerField(_l("Project duration (months)"), default=24, validators=[DataRequired(), NumberRange(min=1, max=120)])
    priority_areas = TextAreaField(_l("Priority areas (one per line)"), validators=[DataRequired(), Length(max=5000)])
    scale_max = DecimalField(_l("Score scale: maximum"), places=1, default=5, validators=[DataRequired(), NumberRange(min=1, max=100)])
    scale_step = DecimalField(_l("Score scale: step"), places=2, default=0.5, validators=[DataRequired(), NumberRange(min=0.01)])
    overall_threshold = DecimalField(_l("Overall threshold"), places=2, validators=[Optional(), NumberRange(min=0)])
    criteria = FieldList(FormField(CriterionForm), min_entries=4, max_entries=10)
    # The proposal form: limits checked on submission (see TEXT_LIMITS).
    abstract_word_limit = IntegerField(
        _l("Abstract: most words"), validators=[Optional(), NumberRange(min=1, max=ABSTRACT_WORDS_CEILING)],
        description=_l("Words are counted between spaces, on submission. Blank: %(n)s.", n=ABSTRACT_WORDS_DEFAULT))
    limit_title = _text_limit_field("title", _l("Title: most characters"))
    limit_acronym = _text_limit_field("acronym", _l("Acronym: most characters"))
    limit_abstract = _text_limit_field("abstract", _l("Abstract: most characters"))
    limit_keywords = _text_limit_field("keywords", _l("Keywords: most characters"))
    side_a = FormField(CallSideForm)
    side_b = FormField(CallSideForm)
    submit = SubmitField(_l("Save the call"))

    def validate_closes_at(self, field):
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The call must close after it opens."))

    def validate_criteria(self, field):
        named = [c for c in field.entries if c.form.name.data]
        if not named:
            raise ValidationError(_l("Give at least one review criterion."))
        for entry in named:
            if not entry.form.weight.data:
                raise ValidationError(_l("Every criterion needs a weight."))


    def text_limits(self) -> dict[str, int]:
        """The limits typed; a blank one is the default."""
        return {name: getattr(self, f"limit_{name}").data for name in TEXT_LIMITS
                if getattr(self, f"limit_{name}").data is not None}

    def fill_limits(self, call) -> None:
        self.abstract_word_limit.data = call.abstract_word_limit
        for name, value in (call.text_limits or {}).items():
            if name in TEXT_LIMITS:
                getattr(self, f"limit_{name}").data = value


class ApproveForm(FlaskForm):
    submit = SubmitField(_l("Approve for my side"))


class AmendmentSideForm(Form):
    required_documents = TextAreaField(_l("Required documents (one per line)"), validators=[Optional(), Length(max=2000)])
    eligibility_rules = TextAreaField(_l("Eligibility rules"), validators=[Optional(), Length(max=5000)])


class AmendmentForm(FlaskForm):
    """New values for an approved or open call, prefilled with the current ones: only
    what is changed is proposed."""

    timezone = SelectField(_l("Time zone of the dates below"), choices=timezone_choices)
    closes_at = DateTimeLocalField(_l("Closes"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    full_closes_at = DateTimeLocalField(_l("Full proposals close (two-stage calls)"), format="%Y-%m-%dT%H:%M",
                                        validators=[Optional()])
    review_due_at = DateTimeLocalField(_l("Reviews due"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    side_a = FormField(AmendmentSideForm)
    side_b = FormField(AmendmentSideForm)
    reason = TextAreaField(_l("Why the call is amended"), validators=[DataRequired(), Length(max=2000)],
                           description=_l("Shown on the call's page and in the email to applicants."))
    submit = SubmitField(_l("Propose the amendment to the other side"))


class RejectAmendmentForm(FlaskForm):
    reason = TextAreaField(_l("Why your side rejects it"), validators=[DataRequired(), Length(max=2000)])


class NewCallForm(CallForm):
    """A call being drafted: also the committee it is for (among those the user drafts for)."""
    committee_id = SelectField(_l("Joint Committee"), coerce=int, validators=[Optional()],
                               description=_l("The committee whose call this is; its two sides are below."))

