"""Personal access tokens: made and revoked on the account page (and by an admin for a
service account), stored as hashes, shown once, scoped, recorded when used; the API
reads tokens only, never the session cookie."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from cfp.auth.api_tokens import token_hash
from cfp.auth.models import ApiScope, ApiToken
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f
from tests.api.world import token_for

TOKEN = re.compile(r"cfp_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def researcher():
    cn, _be, _committee = f.world()
    return f.user(Role.researcher, agency=cn)


def _make(client, name="Grants database", scope="read"):
    response = client.post("/account/api-tokens", data={"name": name, "scope": scope})
    assert response.status_code == 200, response.data[:500]
    assert response.headers["Cache-Control"] == "no-store"
    return TOKEN.search(response.get_data(as_text=True))[0]


def test_a_token_is_made_on_the_account_page_shown_once_and_stored_as_a_hash(client, researcher):
    f.login(client, researcher)
    token = _make(client)
    row = db.session.scalar(sa.select(ApiToken).filter_by(user_id=researcher.id))
    assert row.name == "Grants database" and row.scope == ApiScope.read
    assert row.token_hash == token_hash(token) != token
    # The token is in no column of its row (only its first characters, to tell it apart).
    stored = [str(v) for v in db.session.execute(sa.select(ApiToken.__table__).filter_by(id=row.id)).one()]
    assert not any(token in value for value in stored)
    assert len(row.prefix) < 10 and token.startswith(row.prefix)
    page = client.get("/account").get_data(as_text=True)
    assert "Grants database" in page and token not in page  # shown once, then never again
    assert row.last_used_at is None
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": researcher.id, "name": researcher.name, "email": researcher.email,
                                      "roles": ["researcher"], "token_name": "Grants database",
                                      "token_scope": "read"}
    db.session.refresh(row)
    assert row.last_used_at is not None  # the last use is recorded


def test_a_revoked_token_is_refused(client, researcher):
    f.login(client, researcher)
    token = _make(client)
    row = db.session.scalar(sa.select(ApiToken).filter_by(user_id=researcher.id))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    response = client.post(f"/account/api-tokens/{row.id}/revoke")
    assert response.status_code == 302
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.get_json()["status"] == 401 and answer.get_json()["title"] == "Unauthorized"


def test_nobody_revokes_another_accounts_token_from_their_account_page(client, researcher):
    other = f.user(Role.researcher, agency=researcher.agency)
    token = token_for(other)
    row = db.session.scalar(sa.select(ApiToken).filter_by(user_id=other.id))
    f.login(client, researcher)
    assert client.post(f"/account/api-tokens/{row.id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_deactivated_accounts_tokens_stop_working(client, researcher):
    token = token_for(researcher)
    researcher.active = False
    db.session.flush()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_without_a_name_is_refused_with_the_form(client, researcher):
    f.login(client, researcher)
    response = client.post("/account/api-tokens", data={"name": "", "scope": "write"})
    assert response.status_code == 422
    assert not TOKEN.search(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_a_read_token_cannot_write(client):
    from tests.api.world import build

    world = build()
    response = client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("pi", "read"),
                            json={"version": world.draft.version, "title": "Changed"})
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "read" in response.get_json()["detail"]
    db.session.refresh(world.draft)
    assert world.draft.title == "Draft on perovskites"
    # The same person's write token may.
    response = client.patch(f"/api/v1/proposals/{world.draft.id}", headers=world.auth("pi"),
                            json={"version": world.draft.version, "title": "Changed"})
    assert response.status_code == 200 and response.get_json()["title"] == "Changed"


def test_the_api_reads_no_session_cookie_and_sets_none(client, researcher):
    """A logged-in browser is nobody to the API: no cookie authenticates a read or a write
    (so no forged cross-site request can use it), and an API answer sets no cookie."""
    f.login(client, researcher)
    assert client.get("/api/v1/proposals").status_code == 401
    assert client.patch("/api/v1/proposals/1", json={"version": 1}).status_code == 401
    token = token_for(researcher)
    answer = client.get("/api/v1/proposals", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize("header", ["Bearer", "Bearer cfp_nothing", "Basic dXNlcjpwYXNz", "cfp_x"])
def test_a_malformed_or_unknown_token_is_401_even_where_reading_is_public(client, header):
    answer = client.get("/api/v1/calls", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.get_json()["type"] == "about:blank"


def test_an_admin_makes_a_token_for_a_service_account(client):
    cn, _be, committee = f.world()
    admin = f.user(Role.admin)
    service = f.user(agency=cn, name="Grants database (service)")
    service.grant(Role.staff, cn, committee)
    f.login(client, admin)
    response = client.post(f"/admin/people/{service.id}/api-tokens", data={"name": "sync", "scope": "read"})
    assert response.status_code == 200
    token = TOKEN.search(response.get_data(as_text=True))[0]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["id"] == service.id and me["roles"] == ["staff"]
    row = db.session.scalar(sa.select(ApiToken).filter_by(user_id=service.id))
    assert row.created_by_id == admin.id
    assert client.post(f"/admin/people/{service.id}/api-tokens/{row.id}/revoke").status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_an_admin_makes_a_token_for_another_account(client):
    cn, _be, _committee = f.world()
    staff, other = f.user(Role.staff, agency=cn), f.user(Role.researcher, agency=cn)
    f.login(client, staff)
    assert client.post(f"/admin/people/{other.id}/api-tokens", data={"name": "x", "scope": "write"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_the_personal_data_export_lists_the_tokens_and_deletion_removes_them(client, researcher):
    from cfp.auth.deletion import delete_account
    from cfp.auth.personal_data import export_personal_data

    token = token_for(researcher, name="My script")
    exported = export_personal_data(researcher)["api_tokens"]
    assert [t["name"] for t in exported] == ["My script"] and token not in str(exported)
    assert delete_account(researcher, researcher, password=f.PASSWORD).done
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_language_switcher_or_a_reload_after_making_a_token_lands_on_the_account_page(client, researcher):
    f.login(client, researcher)
    _make(client)
    response = client.get("/account/api-tokens")
    assert response.status_code == 302 and response.location == "/account#api-tokens"


def test_guessing_tokens_from_one_address_is_slowed_down_with_429(client, researcher):
    """Unknown tokens count against their address like wrong passwords (10 free, then a
    doubling wait): the next request is refused with 429 and Retry-After, even with a
    good token, until the wait is over."""
    good = token_for(researcher)
    for n in range(11):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer cfp_guess{n}"}).status_code == 401
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})
    assert answer.status_code == 429
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.get_json()["title"] == "Too Many Requests"
    # Another address is not slowed down.
    other = client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"},
                       environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
