from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField, DecimalField, SelectField, SubmitField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from cfp.reviews.models import Recommendation
from cfp.core.forms import options


class AssignForm(FlaskForm):
    reviewer_id = SelectField(_l("Reviewer"), coerce=int, validators=[DataRequired()])
    due_at = DateTimeLocalField(_l("Due (your time zone)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    submit = SubmitField(_l("Invite"))


class AnswerForm(FlaskForm):
    accept = SubmitField(_l("Accept"))
    decline = SubmitField(_l("Decline"))


class InterestsForm(FlaskForm):
    conflict = SelectField(
        _l("Conflict of interest"),
        choices=options([("no", _l("I have no conflict of interest with this proposal or its team")),
                         ("yes", _l("I have a conflict of interest"))]),
    )
    reason = TextAreaField(_l("If you have one, what is it?"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Declare"))


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
            f"{criterion.name} ({criterion.scale_min:g}–{criterion.scale_max:g}, × {criterion.weight:g})",
            places=1, validators=[Optional()],
            render_kw={"step": str(criterion.scale_step), "min": str(criterion.scale_min), "max": str(criterion.scale_max), "type": "number"},
        )
        setattr(ReviewForm, f"score_{criterion.id}", field)
    return ReviewForm
