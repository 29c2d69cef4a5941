"""Forms of the selection."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange

from cfp.core.forms import options
from cfp.selection.models import EntryKind, ScoreMethod


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
