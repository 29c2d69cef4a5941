"""Workflow states: every entity's legal transitions live in one table next to
its enum, and `change_state` is the only way a state moves."""
from __future__ import annotations

import enum
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

from cfp.core.errors import IllegalTransition

# Keyed by (enum class, value): members of different str-enums with the same
# value compare equal, so the member itself would be an ambiguous key.
_LABELS: dict[tuple[type, str], object] = {}


# The colour of a state's badge (Bootstrap's text-bg-*), by what the state means to its
# reader: done well, handed in, waiting on someone, stopped, or over. The label says it in words too.
_GOOD = {"eligible", "recommended", "funded", "accepted", "adopted", "approved", "open",
         "active", "renewed", "completed", "done", "sent", "held", "confirmed", "fund"}
_WAITING = {"draft", "invited", "pre_proposal", "pending", "in_review", "reviewed", "in_selection",
            "proposed", "reserve", "due", "queued", "running", "sending", "tentative", "overdue",
            "fund_if_possible"}
_STOPPED = {"ineligible", "not_recommended", "rejected", "declined", "conflict", "failed",
            "stopped", "do_not_fund"}
_HANDED_IN = {"submitted"}  # done by its author, now with someone else
TONES = {**{v: "success" for v in _GOOD}, **{v: "primary" for v in _HANDED_IN}, **{v: "warning" for v in _WAITING},
         **{v: "danger" for v in _STOPPED}}


class StateEnum(str, enum.Enum):
    """A string enum whose members carry a translatable label."""

    @property
    def label(self):
        return _LABELS.get((type(self), self.value), self.value.replace("_", " "))

    @property
    def tone(self) -> str:
        """The badge colour of this state (Bootstrap's text-bg-*): grey for what is over."""
        return TONES.get(self.value, "secondary")

    def __str__(self) -> str:
        return str(self.label)


def labels(mapping: Mapping[enum.Enum, object]) -> None:
    """Register translatable labels (lazy_gettext strings) for enum members."""
    _LABELS.update({(type(member), member.value): label for member, label in mapping.items()})


def check_transition(
    table: Mapping[enum.Enum, set[enum.Enum]], current: enum.Enum, target: enum.Enum, what
) -> None:
    if target not in table.get(current, set()):
        raise IllegalTransition(
            str(
                _l(
                    "%(what)s cannot go from “%(current)s” to “%(target)s”.",
                    what=what,
                    current=current.label,
                    target=target.label,
                )
            )
        )


def change_state(obj, target: enum.Enum, *, table, what, attr: str = "state") -> enum.Enum:
    """Move `obj` to `target` if the transition table allows it; return the old state."""
    current = getattr(obj, attr)
    check_transition(table, current, target, what)
    setattr(obj, attr, target)
    return current
