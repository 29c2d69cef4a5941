"""The call's limits on a proposal's free texts (`cfp.calls.models.TEXT_LIMITS` and the
abstract's word limit): how much each field holds against them, for the editor, and what
submission refuses. A draft may hold more than a limit (saving never cuts the text, and a
lowered limit never touches it); submission names each field over its limit."""
from __future__ import annotations

from flask_babel import ngettext

from cfp.calls.models import TEXT_LIMITS, Call


def word_count(text: str | None) -> int:
    return len((text or "").split())


def char_count(text: str | None) -> int:
    """Characters as the applicant sees them: a line break is one, however the browser sent it."""
    return len((text or "").replace("\r\n", "\n"))


def text_usage(call: Call, texts: dict[str, str | None]) -> dict[str, list[tuple[str, int, int]]]:
    """For each limited field: (unit, limit, count now), the abstract's words first."""
    usage = {name: [("characters", call.text_limit(name), char_count(texts.get(name)))] for name in TEXT_LIMITS}
    usage["abstract"].insert(0, ("words", call.abstract_word_limit, word_count(texts.get("abstract"))))
    return usage


# One sentence per field and unit, for the list of what prevents submission.
_OVER = {
    ("abstract", "words"): lambda n, c: ngettext("an abstract of at most %(num)s word (it has %(count)s)",
                                                 "an abstract of at most %(num)s words (it has %(count)s)", n, count=c),
    ("abstract", "characters"): lambda n, c: ngettext(
        "an abstract of at most %(num)s character (it has %(count)s)",
        "an abstract of at most %(num)s characters (it has %(count)s)", n, count=c),
    ("title", "characters"): lambda n, c: ngettext("a title of at most %(num)s character (it has %(count)s)",
                                                   "a title of at most %(num)s characters (it has %(count)s)", n,
                                                   count=c),
    ("acronym", "characters"): lambda n, c: ngettext("an acronym of at most %(num)s character (it has %(count)s)",
                                                     "an acronym of at most %(num)s characters (it has %(count)s)",
                                                     n, count=c),
    ("keywords", "characters"): lambda n, c: ngettext("keywords of at most %(num)s character (it has %(count)s)",
                                                      "keywords of at most %(num)s characters (it has %(count)s)",
                                                      n, count=c),
}


def over_limits(proposal) -> list[str]:
    """Each of the proposal's texts over its call's limit, with the limit and the count."""
    texts = {name: getattr(proposal, name) for name in TEXT_LIMITS}
    return [
        _OVER[(name, unit)](limit, count)
        for name, checks in text_usage(proposal.call, texts).items()
        for unit, limit, count in checks
        if count > limit
    ]
