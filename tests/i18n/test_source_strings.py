"""English source strings that read wrong once translated: ordinals, fragments around
links, units and separators built in code."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import render_template_string
from flask_babel import force_locale, ngettext

from cfp.core.languages import items
from cfp.meetings.models import Meeting, ordinal


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["1st", "2nd", "3rd", "5th", "11th", "12th", "21st"]),
    ("fr", ["1re", "2e", "3e", "5e", "11e", "12e", "21e"]),
    ("zh_Hans", ["1", "2", "3", "5", "11", "12", "21"]),
])
def test_ordinal_in_the_current_language(app, language, expected):
    with app.test_request_context(), force_locale(language):
        assert [ordinal(n) for n in (1, 2, 3, 5, 11, 12, 21)] == expected


@pytest.mark.parametrize(("language", "title"), [
    ("en", "5th meeting"), ("fr", "5e réunion"), ("zh_Hans", "第5届会议")])
def test_a_meeting_title_has_no_english_suffix(app, language, title):
    with app.test_request_context(), force_locale(language):
        assert Meeting(number=5).title == title


@pytest.mark.parametrize(("language", "joined"), [
    ("en", "a title, an abstract, and a duration"), ("fr", "a title, an abstract et a duration"),
    ("zh_Hans", "a title、an abstract和a duration")])
def test_a_list_of_missing_items_is_joined_as_the_language_joins_it(app, language, joined):
    with app.test_request_context(), force_locale(language):
        assert items(["a title", "an abstract", "a duration"]) == joined


@pytest.mark.parametrize(("language", "units"), [
    ("en", ["d", "h", "m", "s"]), ("fr", ["j", "h", "min", "s"]), ("zh_Hans", ["天", "小时", "分", "秒"])])
def test_the_countdown_units_come_translated_from_the_page(app, language, units):
    with app.test_request_context(), force_locale(language):
        html = render_template_string("{% from 'macros.html' import countdown %}{{ countdown(when) }}",
                                      when=datetime(2030, 1, 1, tzinfo=UTC))
    found = {k: re.search(f'data-unit-{k}="([^"]*)"', html).group(1) for k in "dhms"}
    assert list(found.values()) == units


def test_a_link_inside_a_translated_sentence_is_a_link_and_its_text_is_escaped(app):
    template = ("{% set link %}<a href=\"/d/1\">{{ name }}</a>{% endset %}"
                "{{ _('Supersedes %(decision)s.', decision=link) }}")
    with app.test_request_context():
        html = render_template_string(template, name="<b>5.3</b>")
    assert html == 'Supersedes <a href="/d/1">&lt;b&gt;5.3&lt;/b&gt;</a>.'


def test_a_planned_trip_is_one_translatable_sentence_with_its_plural(app):
    with app.test_request_context():
        one = ngettext("%(traveller)s, %(num)s day, year %(y)s", "%(traveller)s, %(num)s days, year %(y)s",
                       1, traveller="Li Wei", y=2)
        many = ngettext("%(traveller)s, %(num)s day, year %(y)s", "%(traveller)s, %(num)s days, year %(y)s",
                        10, traveller="Li Wei", y=2)
    assert (one, many) == ("Li Wei, 1 day, year 2", "Li Wei, 10 days, year 2")
