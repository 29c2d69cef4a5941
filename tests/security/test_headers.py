"""Defect 6 of issue 9: security headers on every answer, and no inline script.

A Content-Security-Policy without 'unsafe-inline' (scripts and styles come only
from files of this site), framing refused (so no one-click POST button, such as
approve or release the letters, can be clickjacked), no MIME sniffing, a referrer
policy, and in production Secure cookies and HSTS."""
from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cfp import ROOT, create_app
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f

TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.fixture
def scene():
    cn, be, committee = f.world()
    pi, partner = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    staff = f.user(Role.staff, agency=cn)
    call = f.call(committee)
    proposal = f.proposal(call, pi, partner)
    job = f.job(staff)
    db.session.commit()
    return {"pi": pi, "staff": staff, "call": call, "proposal": proposal, "job": job}


def pages(scene) -> list[tuple[str | None, str]]:
    """(who, url) of pages with forms, buttons, scripts and progress bars."""
    p, c, job = scene["proposal"], scene["call"], scene["job"]
    return [
        (None, "/"), (None, "/login"), (None, "/register"), (None, "/calls/"),
        (None, f"/calls/{c.id}"), (None, "/reset-password"), (None, "/no-such-page"),
        ("pi", "/account"), ("pi", "/proposals/mine"), ("pi", f"/proposals/{p.id}"),
        ("pi", f"/proposals/{p.id}/edit"), ("pi", f"/proposals/{p.id}/history"), ("pi", "/mail"),
        ("staff", f"/jobs/{job.id}"), ("staff", "/proposals/staff"), ("staff", "/reviews/staff"),
    ]


def fetch_all(client, scene):
    current = None
    for who, url in pages(scene):
        if who != current:
            if current is not None:
                client.post("/logout")
            if who is not None:
                f.login(client, scene[who])
            current = who
        response = client.get(url)
        assert response.status_code in (200, 404), url
        yield url, response


def test_every_answer_has_a_content_security_policy_without_inline_script(client, scene):
    for url, response in fetch_all(client, scene):
        policy = directives(response)
        assert policy["script-src"] == "script-src 'self'", url
        assert policy["style-src"] == "style-src 'self'", url
        assert policy["default-src"] == "default-src 'self'", url
        assert policy["object-src"] == "object-src 'none'", url
        assert policy["base-uri"] == "base-uri 'none'", url
        assert policy["form-action"] == "form-action 'self'", url
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert "unsafe-eval" not in response.headers["Content-Security-Policy"]


def test_no_page_can_be_framed(client, scene):
    for url, response in fetch_all(client, scene):
        assert directives(response)["frame-ancestors"] == "frame-ancestors 'none'", url
        assert response.headers["X-Frame-Options"] == "DENY", url


def test_no_answer_is_sniffed_for_another_type(client, scene):
    for url, response in fetch_all(client, scene):
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
    with client.get("/static/cfp.js") as script:
        assert script.headers["X-Content-Type-Options"] == "nosniff"


def test_the_referrer_stays_on_this_site(client, scene):
    for url, response in fetch_all(client, scene):
        assert response.headers["Referrer-Policy"] == "same-origin", url


def test_pages_reached_by_an_emailed_link_send_no_referrer_at_all(client):
    assert client.get("/reset-password/no-such-token").headers["Referrer-Policy"] == "no-referrer"


def test_static_files_and_errors_have_the_headers_too(client):
    for url in ("/static/cfp.css", "/nowhere", "/bootstrap/static/css/bootstrap.min.css"):
        with client.get(url) as response:
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_embedded_mode_sends_no_hsts_and_plain_cookies(app, client):
    """The embedded mode is served over plain HTTP on 127.0.0.1."""
    assert "Strict-Transport-Security" not in client.get("/login").headers
    assert app.config["SESSION_COOKIE_SECURE"] is False


@pytest.fixture
def production(app, database_url, monkeypatch):
    monkeypatch.setenv("CFP_ENV", "production")
    prod = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "CELERY": {"task_always_eager": True, "broker_url": "memory://"},
    }, refuse_weak_settings=False)  # headers are the point here; the refusal has its own tests
    try:
        yield prod
    finally:
        app.extensions["celery"].set_default()  # create_app made the new app's Celery the default
        with prod.app_context():
            db.engine.dispose()


def test_production_sends_hsts(production):
    response = production.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_production_cookies_are_secure_and_http_only(production):
    response = production.test_client().get("/login", base_url="https://cfp.example")
    cookie = response.headers["Set-Cookie"]  # the CSRF token of the form lives in the session
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_HTTPONLY"] is True


# No inline script, handler or style in the templates or in what they render.

def _markup(template: Path) -> str:
    """The HTML of a template without its Jinja tags, comments and expressions."""
    text = template.read_text()
    return re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.DOTALL)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_an_inline_script_or_handler(template):
    html = _markup(template)
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html, re.IGNORECASE), "an inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), "an inline event handler (on...=)"
    assert not re.search(r"javascript:", html, re.IGNORECASE), "a javascript: URL"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_an_inline_style(template):
    html = _markup(template)
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), "a style= attribute: use a class in cfp.css"
    assert not re.search(r"<style\b", html, re.IGNORECASE), "a <style> block: use cfp.css"


class InlineFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"<{tag} {name}=…>" for name in names if name.startswith("on") or name == "style"]
        self.found += [f"<{tag} {name}=javascript:…>" for name, value in attrs
                       if value and value.strip().lower().startswith("javascript:")]


def test_no_rendered_page_has_inline_script_or_style(client, scene):
    for url, response in fetch_all(client, scene):
        finder = InlineFinder()
        finder.feed(response.data.decode())
        assert finder.found == [], url
        for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', response.data.decode()):
            assert src.startswith("/"), f"{url} loads {src} from elsewhere"
