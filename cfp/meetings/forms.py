"""Forms of meetings and decisions."""
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
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

from cfp.core.forms import options
from cfp.meetings.models import DecisionKind, MeetingMode, MeetingStatus


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
    title = StringField(lazy_pgettext("attendee's job title", "Title"), validators=[Optional(), Length(max=300)])
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
