from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from cfp.core.countries import country_choices
from cfp.core.forms import options
from cfp.reviews.models import Recommendation


class AssignForm(FlaskForm):
    reviewer_id = SelectField(_l("Reviewer"), coerce=int, validators=[DataRequired()])
    due_at = DateTimeLocalField(_l("Due (your time zone)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    submit = SubmitField(_l("Invite"))


class AnswerForm(FlaskForm):
    accept = SubmitField(_l("Accept"))
    decline = SubmitField(lazy_pgettext("reviewer declines an invitation", "Decline"))


class InterestsForm(FlaskForm):
    # Radio buttons with none checked: the reviewer must choose (a select would show its
    # first answer as chosen).
    conflict = RadioField(
        _l("Conflict of interest"),
        choices=options([("no", _l("I have no conflict of interest with this proposal or its team")),
                         ("yes", _l("I have a conflict of interest"))]),
        validators=[InputRequired(_l("Choose whether you have a conflict of interest."))],
    )
    reason = TextAreaField(_l("If you have one, what is it?"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Declare"))


def plain_number(value: Decimal) -> str:
    """A decimal as people write it: 5, 0.5, 10 (not 5.0, 0.50, 1E+1)."""
    return f"{Decimal(value).normalize():f}"


def review_form_class(criteria):
    """A form with one score field per criterion of the call (criteria are rows)."""

    class ReviewForm(FlaskForm):
        comments_to_applicants = TextAreaField(_l("Comments to the applicants"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 6})
        confidential_comments = TextAreaField(_l("Confidential comments to the agency"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 3})
        recommendation = SelectField(_l("Recommendation"), choices=options([("", "—")] + [(r.value, r.label) for r in Recommendation]), validators=[Optional()])
        save = SubmitField(_l("Save the draft"))
        submit = SubmitField(_l("Submit the review"))

    for criterion in criteria:
        field = DecimalField(
            criterion.name, places=1, validators=[Optional()],
            render_kw={"step": str(criterion.scale_step), "min": str(criterion.scale_min), "max": str(criterion.scale_max), "type": "number"},
        )
        setattr(ReviewForm, f"score_{criterion.id}", field)
    return ReviewForm


class AutomaticStartForm(FlaskForm):
    random_cap = IntegerField(
        _l("Randomise: each reviewer–proposal pair at most this likely (%)"),
        validators=[Optional(), NumberRange(min=1, max=100)],
        description=_l("Empty: off, the single best assignment. With a cap, the assignment is drawn at random "
                       "from the best one that respects it, so nobody can be sure to review a chosen proposal; "
                       "the seed is recorded and the expected total affinity shown against the optimum."))
    floor = BooleanField(
        _l("A floor for every proposal"),
        description=_l("Raise the weakest match first: the lowest affinity of any reviewer chosen for any "
                       "proposal is made as high as possible (and proved the highest), then the total affinity "
                       "as large as possible at that floor. The floor reached and what it costs in total "
                       "affinity are shown. Not with the randomised assignment."))
    diversity = SelectField(
        _l("Diversity of each proposal's reviewers"),
        choices=options([("", _l("Off")),
                         ("institution", _l("At most one reviewer of the same institution per proposal")),
                         ("country", _l("At most one reviewer of the same country per proposal"))]),
        validators=[Optional()],
        description=_l("A reviewer's institution is their affiliation, or else their email domain; their "
                       "country is the one their profile gives (reviewers without one count as a country of "
                       "their own). Reviewers already assigned or pinned count too."))
    submit = SubmitField(_l("Compute an optimal assignment"))

    def validate_floor(self, field):
        if field.data and self.random_cap.data:
            raise ValidationError(_l("Choose either a floor for every proposal or a randomised assignment, "
                                     "not both."))


class PairForm(FlaskForm):
    proposal_id = SelectField(_l("Proposal"), coerce=int, validators=[DataRequired()])
    reviewer_id = SelectField(_l("Reviewer"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Add this pair"))


class ApproveForm(FlaskForm):
    due_at = DateTimeLocalField(_l("Reviews due (your time zone)"), format="%Y-%m-%dT%H:%M",
                                validators=[DataRequired()])
    submit = SubmitField(_l("Approve and send the invitations"))


class ExtendForm(FlaskForm):
    due_at = DateTimeLocalField(_l("New due date (your time zone)"), format="%Y-%m-%dT%H:%M",
                                validators=[DataRequired()])
    submit = SubmitField(_l("Extend"))


class PoolInviteForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    affiliation = StringField(lazy_pgettext("reviewer's institution", "Institution"), validators=[Optional(), Length(max=300)])
    keywords = StringField(_l("Expertise keywords"), validators=[Optional(), Length(max=500)])
    max_load = IntegerField(_l("Maximum number of proposals"), default=8,
                            validators=[InputRequired(), NumberRange(min=0, max=100)])
    country = SelectField(_l("Country of the reviewer's institution"), choices=lambda: _country_options(),
                          validators=[Optional()])
    submit = SubmitField(_l("Invite"))


class PoolImportForm(FlaskForm):
    file = FileField(_l("CSV file (email,name,affiliation,keywords,expertise,max_load,country)"),
                     validators=[FileRequired()])
    submit = SubmitField(_l("Import"))


class JoinPoolForm(FlaskForm):
    password = PasswordField(_l("Choose a password"), validators=[Optional(), Length(min=10, max=200)])
    submit = SubmitField(_l("Join the pool"))


class ProfileForm(FlaskForm):
    keywords = StringField(_l("Expertise keywords"), validators=[Optional(), Length(max=500)])
    expertise = TextAreaField(_l("Expertise, in a few sentences"), validators=[Optional(), Length(max=5000)])
    max_load = IntegerField(_l("Maximum number of proposals"),
                            validators=[InputRequired(), NumberRange(min=0, max=100)])
    country = SelectField(_l("Country of your institution"), choices=lambda: _country_options(),
                          validators=[Optional()],
                          description=_l("Used only to give a proposal reviewers of different countries "
                                         "when the call asks for it."))
    conflicts = TextAreaField(_l("People you collaborate with (one name per line)"),
                              validators=[Optional(), Length(max=5000)])
    unavailable_from = DateField(_l("Unavailable from"), validators=[Optional()])
    unavailable_until = DateField(_l("Unavailable until"), validators=[Optional()])
    submit = SubmitField(_l("Save"))


class PoolReviewerForm(FlaskForm):
    """What staff may change in a reviewer's profile (their collaborations are theirs to declare)."""

    keywords = StringField(_l("Expertise keywords"), validators=[Optional(), Length(max=500)])
    expertise = TextAreaField(_l("Expertise, in a few sentences"), validators=[Optional(), Length(max=5000)])
    max_load = IntegerField(_l("Maximum number of open reviews"),
                            validators=[InputRequired(), NumberRange(min=0, max=100)])
    country = SelectField(_l("Country of the reviewer's institution"), choices=lambda: _country_options(),
                          validators=[Optional()])
    unavailable_from = DateField(_l("Unavailable from"), validators=[Optional()])
    unavailable_until = DateField(_l("Unavailable until"), validators=[Optional()])
    submit = SubmitField(_l("Save"))


class ReviewSettingsForm(FlaskForm):
    review_reminder_days_before = IntegerField(_l("Remind reviewers this many days before the due date"),
                                               validators=[InputRequired(), NumberRange(min=0, max=60)])
    review_reminder_days_after = IntegerField(_l("Remind them again this many days after it"),
                                              validators=[InputRequired(), NumberRange(min=0, max=60)])
    reviewer_min_load = IntegerField(_l("Minimum number of proposals per reviewer (automatic assignment)"),
                                     validators=[InputRequired(), NumberRange(min=0, max=50)])
    reviewers_see_side_reviews = BooleanField(_l("A reviewer sees the other reviews of their side after submitting"))
    normalise_review_scores = BooleanField(_l("Rank by scores normalised per reviewer (z-scores)"))
    submit = SubmitField(_l("Save the settings"))


class SideReviewSettingsForm(FlaskForm):
    """One side's review settings, for that side's staff only."""

    reviewers_per_proposal = IntegerField(_l("Reviewers per proposal"),
                                          validators=[InputRequired(), NumberRange(min=1, max=10)])
    reviewer_answer_days = IntegerField(_l("Days a reviewer has to answer an invitation"),
                                        validators=[InputRequired(), NumberRange(min=1, max=60)])
    review_due_at = DateTimeLocalField(_l("Reviews due (your time zone; empty: the call's date)"),
                                       format="%Y-%m-%dT%H:%M", validators=[Optional()])
    submit = SubmitField(_l("Save my side's settings"))


def _country_options() -> list[tuple[str, str]]:
    return [("", _("Not given")), *country_choices()]
