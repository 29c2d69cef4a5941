"""Forms of funded projects."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from cfp.core.forms import options
from cfp.projects.models import ReportKind


class ReportForm(FlaskForm):
    kind = SelectField(_l("Report"), choices=options([(k.value, k.label) for k in ReportKind]))
    text = TextAreaField(_l("Joint report"), validators=[DataRequired(), Length(max=50000)])
    attachment = FileField(_l("Annex (PDF, optional)"))
    submit = SubmitField(_l("Submit the report"))


class ProjectStatusForm(FlaskForm):
    decision_id = SelectField(_l("By decision"), coerce=int)
    status = SelectField(_l("New status"), choices=options([
        ("renewed", _l("renewed")), ("stopped", _l("stopped")), ("completed", _l("completed"))]))
    submit = SubmitField(_l("Record"))


class TripForm(FlaskForm):
    planned_trip_id = SelectField(_l("Planned trip"), coerce=int)
    direction = SelectField(_l("Direction"))
    traveller = StringField(_l("Traveller"), validators=[DataRequired(), Length(max=200)])
    days = IntegerField(_l("Days"), validators=[DataRequired(), NumberRange(min=1, max=400)])
    year = IntegerField(_l("Project year"), validators=[DataRequired(), NumberRange(min=1, max=10)])
    started_on = DateField(_l("Started on"), validators=[Optional()])
    submit = SubmitField(_l("Record the trip"))
