"""Amounts and days as each language writes them, and an email and a PDF in each
language: the email in its recipient's, the PDF in its reader's."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from babel.numbers import format_currency
from flask_babel import force_locale

from cfp.core.languages import day, money, number
from cfp.core.outbox import OutboxMessage, queue_email
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests import pdftools
from tests.i18n.translations import translation

LANGUAGES = [("fr", "fr"), ("zh_Hans", "zh-Hans")]


def _spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_amounts_numbers_and_days_in_each_language(app):
    with app.test_request_context():
        with force_locale("fr"):
            amount = money(Decimal("1234.50"), "EUR")
            assert amount == format_currency(Decimal("1234.50"), "EUR", locale="fr")
            assert _spaces(amount) == "1 234,50 €"  # Babel writes narrow no-break spaces
            assert _spaces(number(Decimal("1234.5"), 2)) == "1 234,50"
            assert day(date(2021, 7, 14)) == "14 juil. 2021"
        with force_locale("zh_Hans"):
            assert money(Decimal(420000), "CNY") == "¥420,000.00"
            assert day(date(2021, 7, 14)) == "2021年7月14日"
        with force_locale("en"):
            assert money(Decimal("1234.5"), "EUR") == "€1,234.50"
            assert money(None, "EUR") == "—"


@pytest.mark.parametrize(("language", "tag"), LANGUAGES)
def test_a_page_shows_the_amounts_as_its_language_writes_them(client, language, tag):
    _cn, _be, committee = f.world()
    call = f.call(committee)
    db.session.commit()
    client.post("/language", data={"language": language})
    page = client.get(f"/calls/{call.id}").data.decode()
    assert format_currency(Decimal(100000), "EUR", locale=language) in page
    assert format_currency(Decimal(1000000), "CNY", locale=language) in page


@pytest.mark.parametrize("language", ["fr", "zh_Hans"])
def test_an_email_goes_out_in_its_recipient_language(app, language):
    cn, _be, _committee = f.world()
    reader = f.user(agency=cn, locale=language)
    with app.test_request_context(headers={"Accept-Language": "en"}):  # whoever causes it
        message = queue_email(to=reader, template="reset_password", key=f"reset-{language}",
                              context={"link": "http://localhost/reset", "minutes": 30})
    assert message.language == language
    assert translation(language, "Choose a new password for the joint calls") in message.subject
    assert translation(language, "Dear %(name)s,").replace("%(name)s", reader.name) in message.body


def test_an_invitation_to_an_address_without_account_is_in_the_language_of_its_side(app):
    cn, be, _committee = f.world()
    with app.test_request_context():
        to_be = queue_email(to="new.pi@uclouvain.example", template="account_exists", key="t-be",
                            context={"login_link": "/login", "reset_link": "/reset"}, language=be.locale)
        to_cn = queue_email(to="new.pi@tsinghua.example", template="account_exists", key="t-cn",
                            context={"login_link": "/login", "reset_link": "/reset"}, language=cn.locale)
        unknown = queue_email(to="x@example.org", template="account_exists", key="t-x",
                              context={"login_link": "/login", "reset_link": "/reset"}, language="de")
    assert (to_be.language, to_cn.language, unknown.language) == ("fr", "zh_Hans", "en")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 3


@pytest.mark.parametrize("language", ["fr", "zh_Hans"])
def test_the_minutes_pdf_is_in_its_reader_language(client, language):
    cn, _be, committee = f.world()
    secretariat = f.user(Role.secretariat, agency=cn, locale=language)
    meeting = f.meeting(committee)
    db.session.commit()
    f.login(client, secretariat)
    response = client.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert response.status_code == 200
    text = "".join(pdftools.text(response.data).split())
    written = {"fr": "14juillet2021", "zh_Hans": "2021年7月14日"}[language]  # the meeting's day
    assert written in text
    for msgid in ("Delegations", "Agenda and decisions"):
        assert "".join(translation(language, msgid).split()) in text
