"""The language switcher of the navigation bar: for everybody, kept in a cookie; a
logged-in user's choice is their profile's language; back to the page, on this site
only. The page says which language it is in (<html lang>), and the buttons name each
language in itself."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cfp.auth.models import User
from cfp.core.audit import AuditEntry
from cfp.core.languages import COOKIE
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests.i18n.translations import translation


def switch(client, language, next_="/calls/", **kw):
    return client.post("/language", data={"language": language, "next": next_}, **kw)


def lang_of(page: str) -> str:
    return page.split('<html lang="', 1)[1].split('"', 1)[0]


def test_everybody_sees_the_switcher_each_language_named_in_itself(client):
    page = client.get("/calls/").data.decode()
    assert lang_of(page) == "en"
    for code, tag, name in (("en", "en", "English"), ("fr", "fr", "Français"), ("zh_Hans", "zh-Hans", "中文")):
        assert f'value="{code}" lang="{tag}"' in page and f">{name}</button>" in page
    assert 'aria-pressed="true">English</button>' in page


@pytest.mark.parametrize(("language", "tag", "name"), [("fr", "fr", "Français"), ("zh_Hans", "zh-Hans", "中文")])
def test_an_anonymous_visitor_switches_and_the_cookie_keeps_it(client, language, tag, name):
    response = switch(client, language)
    assert response.status_code == 303 and response.location == "/calls/"
    cookie = client.get_cookie(COOKIE)
    assert cookie.value == language and cookie.http_only and cookie.same_site == "Lax"
    page = client.get("/calls/").data.decode()
    assert lang_of(page) == tag
    assert page.count('aria-pressed="true"') == 1 and f'aria-pressed="true">{name}</button>' in page


def test_without_a_choice_the_browser_language_is_taken(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).data.decode()) == "zh-Hans"
    assert lang_of(client.get("/", headers={"Accept-Language": "fr-BE,fr;q=0.8"}).data.decode()) == "fr"
    assert lang_of(client.get("/", headers={"Accept-Language": "de-DE"}).data.decode()) == "en"
    switch(client, "fr")  # the cookie wins over the browser
    assert lang_of(client.get("/", headers={"Accept-Language": "zh-CN"}).data.decode()) == "fr"


def test_a_logged_in_user_choice_is_saved_as_their_profile_language(client):
    cn, _be, _committee = f.world()
    user = f.user(Role.researcher, agency=cn, locale="en")
    db.session.commit()
    f.login(client, user)
    assert switch(client, "zh_Hans", next_="/account").location == "/account"
    assert db.session.get(User, user.id).locale == "zh_Hans"
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="user.update_profile"))
    assert entry.before == {"locale": "en"} and entry.after == {"locale": "zh_Hans"}
    # The profile wins over a cookie of another browser's choice and over the browser.
    client.set_cookie(COOKIE, "fr")
    assert lang_of(client.get("/account", headers={"Accept-Language": "fr"}).data.decode()) == "zh-Hans"


def test_the_switcher_goes_back_only_to_a_page_of_this_site(client):
    for target in ("//evil.example/", "https://evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = switch(client, "fr", next_=target)
        assert response.status_code == 303 and response.location == "/", target
    referred = switch(client, "fr", next_="", headers={"Referer": "http://localhost/calls/?state=open"})
    assert referred.location == "/calls/?state=open"
    elsewhere = switch(client, "fr", next_="", headers={"Referer": "https://evil.example/"})
    assert elsewhere.location == "/"


def test_a_language_not_offered_is_refused(client):
    response = switch(client, "de")
    assert response.status_code == 303 and client.get_cookie(COOKIE) is None
    assert "This language is not offered." in client.get("/calls/").data.decode()


@pytest.mark.parametrize("language", ["fr", "zh_Hans"])
def test_a_page_shows_in_the_chosen_language(client, language):
    switch(client, language)
    page = client.get("/calls/").data.decode()
    for msgid in ("Calls", "Log in", "Register"):
        assert translation(language, msgid) in page
