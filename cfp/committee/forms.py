from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from cfp.committee.models import (
    DecisionKind,
    EntryKind,
    MeetingMode,
    MeetingStatus,
    ReportKind,
    ScoreMethod,
)
from cfp.core.forms import options


class MeetingForm(FlaskForm):
    number = IntegerField(_l("Number"), validators=[DataRequired(), NumberRange(min=1)])
    date = DateField(_l("Date"), validators=[Optional()])
    date_note = StringField(_l("Date note (if no exact date)"), validators=[Optional(), Length(max=100)])
    mode = SelectField(_l("Mode"), choices=options([(m.value, m.label) for m in MeetingMode]))
    host_agency_id = SelectField(_l("Host side"), coerce=int)
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), choices=options([(s.value, s.label) for s in MeetingStatus]))
    submit = SubmitField(_l("Create the meeting"))


class AttendeeForm(FlaskForm):
    agency_id = SelectField(_l("Side"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    name_original = StringField(_l("Name in original script"), validators=[Optional(), Length(max=200)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=300)])
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=300)])
    is_cochair = BooleanField(_l("Co-chair"))
    submit = SubmitField(_l("Add"))


class AgendaItemForm(FlaskForm):
    title = StringField(_l("Agenda item"), validators=[DataRequired(), Length(max=300)])
    submit = SubmitField(_l("Add"))


class DecisionForm(FlaskForm):
    agenda_item_id = SelectField(_l("Agenda item"), coerce=int)
    kind = SelectField(_l("Kind"), choices=options([(k.value, k.label) for k in DecisionKind]))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    text = TextAreaField(_l("Text"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Draft the decision"))


class AttachListForm(FlaskForm):
    project_list_id = SelectField(_l("Project list"), coerce=int)
    submit = SubmitField(_l("Table this list"))


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=options([
        ("recommended", _l("recommended")), ("reserve", _l("reserve")),
        ("not_recommended", _l("not recommended"))]))
    submit = SubmitField(_l("Set"))


class ScoreMethodForm(FlaskForm):
    method = SelectField(_l("Combined score"), choices=options([(m.value, m.label) for m in ScoreMethod]))
    submit = SubmitField(_l("Use this method"))


class TieBreakForm(FlaskForm):
    order = StringField(_l("Order (references, first ranks higher)"), validators=[DataRequired(), Length(max=2000)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Record this order"))


class MoveEntryForm(FlaskForm):
    kind = SelectField(_l("List"), choices=options([(k.value, k.label) for k in EntryKind]))
    position = IntegerField(_l("Position"), validators=[DataRequired(), NumberRange(min=1)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Move"))


class MeetingStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=options([(s.value, s.label) for s in MeetingStatus]))
    submit = SubmitField(_l("Change"))


class EditDecisionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    text = TextAreaField(_l("Text"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save the draft"))


class SupersedeForm(FlaskForm):
    agenda_item_id = SelectField(_l("At agenda item (or by written procedure)"), coerce=int)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    text = TextAreaField(_l("Text"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Draft the superseding decision"))


class WrittenDecisionForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=options([(k.value, k.label) for k in DecisionKind]))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    text = TextAreaField(_l("Text"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Draft a decision by written procedure"))


class ReportForm(FlaskForm):
    kind = SelectField(_l("Report"), choices=options([(k.value, k.label) for k in ReportKind]))
    text = TextAreaField(_l("Joint report"), validators=[DataRequired(), Length(max=50000)])
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
