"""The words a proposal's lists are written in: one vocabulary per field (a team member's
role and career stage, a budget line's category), each term stored as its code and shown
as its translated label everywhere (the editor, the proposal's page, its history, the PDF
of what was submitted). The editor, the demo data and any import take their values from
here. A stored value outside its vocabulary (older data) is kept as it is, offered back by
the editor so that saving never changes it, and shown as itself, marked."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice


@dataclass(frozen=True)
class Vocabulary:
    field: str
    terms: tuple[tuple[str, object], ...]  # (code, lazy label), in the order offered
    blank: bool = True  # may a draft leave the field empty

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _label in self.terms)

    def __contains__(self, code) -> bool:
        return code in self.codes

    def label(self, code: str | None) -> str:
        """The term's label in the viewer's language; a value outside the vocabulary as
        itself, marked; nothing as a dash."""
        if not code:
            return "—"
        for known, label in self.terms:
            if known == code:
                return str(label)
        return _("%(value)s (not in the list)", value=code)

    def options(self, keep: Iterable[str] = ()) -> list[SelectChoice]:
        """The choices of a select: the terms, then each value of `keep` outside them
        (what the proposal already holds), so that what is stored is what is selected."""
        pairs = [("", "—")] if self.blank else []
        pairs += [(code, str(label)) for code, label in self.terms]
        pairs += [(value, self.label(value)) for value in dict.fromkeys(keep) if value and value not in self]
        return [SelectChoice(value, label) for value, label in pairs]


MEMBER_ROLES = Vocabulary("role", (
    ("co-investigator", _l("co-investigator")),
    ("researcher", _l("researcher")),
    ("engineer", _l("engineer or technician")),
    ("student", _l("student")),
    ("manager", _l("project manager")),
))

CAREER_STAGES = Vocabulary("career_stage", (
    ("professor", _l("professor")),
    ("senior researcher", _l("senior researcher")),
    ("postdoc", _l("postdoctoral researcher")),
    ("phd student", _l("PhD student")),
    ("engineer", _l("engineer or technician")),
))

BUDGET_CATEGORIES = Vocabulary("category", (
    ("personnel", _l("personnel")),
    ("equipment", _l("equipment")),
    ("consumables", _l("consumables")),
    ("travel", _l("other travel")),
    ("dissemination", _l("dissemination")),
    ("other", _l("other")),
), blank=False)

VOCABULARIES = {"role": MEMBER_ROLES, "career_stage": CAREER_STAGES, "category": BUDGET_CATEGORIES}


def outside(vocabulary: Vocabulary, values: Iterable[str]) -> list[str]:
    """The values, in order and once each, that are not terms of the vocabulary."""
    return [v for v in dict.fromkeys(values) if v and v not in vocabulary]
