"""The reviewer pool: invitations by email with the account created on acceptance, the
profile, and the all-or-nothing CSV import with per-row errors."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from cfp.auth.models import User
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.reviews import pool
from cfp.reviews.models import ReviewerInvitation, ReviewerProfile
from tests import factories as f


def invitation_link(email):
    body = db.session.scalars(sa.select(OutboxMessage.body).where(
        OutboxMessage.recipient == email, OutboxMessage.template == "reviewer_pool_invitation")).one()
    return re.search(r"http://\S+/reviews/pool/join/\S+", body).group(0).split("localhost", 1)[-1]


def test_staff_invite_an_expert_who_creates_an_account_on_acceptance(app, client):
    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    f.login(client, staff)
    response = client.post(f"/reviews/pool/{be.id}", data={
        "email": "Expert@ULiege.example", "name": "Claire Expert", "affiliation": "ULiège",
        "keywords": "hydrology; remote sensing", "max_load": "5"})
    assert response.status_code == 302
    path = invitation_link("expert@uliege.example")
    expert = app.test_client()
    assert expert.get(path).status_code == 200
    short = expert.post(path, data={"password": "short"})
    assert short.status_code == 200 and db.session.scalar(
        sa.select(User).filter_by(email="expert@uliege.example")) is None
    assert expert.post(path, data={"password": "a long enough password"}).status_code == 302
    user = db.session.scalar(sa.select(User).filter_by(email="expert@uliege.example"))
    assert user.has_role(Role.reviewer, be.id) and user.email_verified_at is not None
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=user.id))
    assert profile.agency_id == be.id and profile.max_load == 5 and "hydrology" in profile.keywords
    # The link works once.
    assert expert.get(path).status_code == 404
    # The new reviewer logs in and completes the profile.
    login = expert.post("/login", data={"email": "expert@uliege.example", "password": "a long enough password"})
    assert login.status_code == 302
    saved = expert.post("/reviews/profile", data={
        "keywords": "hydrology, floods", "expertise": "Flood forecasting.", "max_load": "4",
        "conflicts": "Li Wei\nJan Peeters", "unavailable_from": "2030-07-01", "unavailable_until": "2030-08-31"})
    assert saved.status_code == 302
    db.session.refresh(profile)
    assert profile.max_load == 4 and profile.unavailable_until == date(2030, 8, 31)
    assert profile.available_on(date(2030, 7, 15)) is False and profile.available_on(date(2030, 9, 1))
    # Errors beside the fields, the typed values kept.
    bad = expert.post("/reviews/profile", data={"keywords": "kept text", "max_load": "-1"})
    assert bad.status_code == 422 and b"kept text" in bad.data


def test_the_join_page_shows_whom_the_invitation_is_for(app, client):
    _cn, be, _committee = f.world()
    f.login(client, f.user(Role.staff, agency=be))
    client.post(f"/reviews/pool/{be.id}", data={"email": "claire@uliege.example", "name": "Claire Expert",
                                                 "max_load": "5"})
    page = app.test_client().get(invitation_link("claire@uliege.example"))
    assert "Claire Expert (claire@uliege.example)" in page.get_data(as_text=True)


def test_an_existing_account_must_log_in_to_accept(app, client):
    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    known = f.user(Role.researcher, agency=be, email="known@ulb.example")
    f.login(client, staff)
    client.post(f"/reviews/pool/{be.id}", data={"email": "known@ulb.example", "name": "Known", "max_load": "8"})
    path = invitation_link("known@ulb.example")
    anonymous = app.test_client()
    refused = anonymous.post(path, data={"password": "a long enough password"}, follow_redirects=True)
    assert b"log in first" in refused.data
    logged = app.test_client()
    f.login(logged, known)
    assert logged.post(path, data={}).status_code == 302
    assert known.has_role(Role.reviewer, be.id)


CSV_OK = """email,name,affiliation,keywords,expertise,max_load
new.one@ulb.example,New One,ULB,machine learning,,6
known@umons.example,Known Person,UMONS,batteries,Battery chemistry,3
"""

CSV_BAD = """email,name,affiliation,keywords,expertise,max_load
good@ulb.example,Good,ULB,ai,,6
not-an-email,Nobody,,,,2
good@ulb.example,Twice,ULB,,,x
,,,,,
cn.person@tsinghua.example,CN person,,,,4
"""


def upload(client, agency_id, text):
    return client.post(f"/reviews/pool/{agency_id}/import",
                       data={"file": (io.BytesIO(text.encode()), "pool.csv")},
                       content_type="multipart/form-data")


def test_csv_import_adds_known_accounts_and_invites_the_others(client):
    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    known = f.user(Role.researcher, agency=be, email="known@umons.example")
    f.login(client, staff)
    response = upload(client, be.id, CSV_OK)
    assert response.status_code == 302
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=known.id))
    assert profile.max_load == 3 and profile.expertise == "Battery chemistry"
    invitation = db.session.scalar(sa.select(ReviewerInvitation).filter_by(email="new.one@ulb.example"))
    assert invitation.max_load == 6 and invitation.accepted_at is None


def test_csv_import_with_errors_imports_nothing_and_names_each_row(client):
    cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    f.user(Role.researcher, agency=cn, email="cn.person@tsinghua.example")
    f.login(client, staff)
    response = upload(client, be.id, CSV_BAD)
    assert response.status_code == 422
    page = response.data.decode()
    assert "Line 3: “not-an-email” is not an email address." in page
    assert "Line 4: good@ulb.example appears twice; max_load must be a whole number from 0 to 100 (got “x”)." in page
    assert "Line 6: cn.person@tsinghua.example belongs to the other side." in page
    assert "Line 2" not in page and "Line 5" not in page
    assert db.session.scalar(sa.select(sa.func.count(ReviewerInvitation.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(ReviewerProfile.id))) == 0


def test_unavailable_reviewers_are_not_proposed():
    from cfp.reviews.automatic import side_problem
    from tests.reviews.test_automatic_assignment import setup_call

    call, be, _staff, _proposals, reviewers = setup_call()
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewers[0].id))
    profile.unavailable_from = utcnow().date() - timedelta(days=1)
    profile.unavailable_until = utcnow().date() + timedelta(days=30)
    db.session.flush()
    _instance, _, profiles, _ = side_problem(call, be.id)
    assert reviewers[0].id not in {p.user_id for p in profiles}


def register_unverified(client, agency, email, password="a long password"):
    """Somebody registers `email` without owning the mailbox, and logs in."""
    client.post("/register", data={"name": "Squatter", "email": email, "agency_id": agency.id,
                                   "affiliation": "Nowhere", "password": password, "confirm": password})
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return db.session.scalar(sa.select(User).filter_by(email=email))


def test_an_unverified_account_with_the_invited_address_must_verify_first(app, client):
    from tests.auth.helpers import emailed_path

    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    token = pool.invite_reviewer(staff, be.id, "expert@uliege.example", "Claire Expert").token
    db.session.commit()
    path = f"/reviews/pool/join/{token}"
    squatter = register_unverified(client, be, "expert@uliege.example")
    refused = client.post(path, data={}, follow_redirects=True)
    assert "Verify your email address first" in refused.data.decode()
    assert not squatter.has_role(Role.reviewer)
    assert db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=squatter.id)) is None
    assert client.get(path).status_code == 200  # the link stays usable
    # Once the owner of the mailbox verified the address, the same link works.
    client.get(emailed_path("verify_email", "expert@uliege.example"))
    assert client.post(path, data={}).status_code == 302
    db.session.refresh(squatter)
    assert squatter.has_role(Role.reviewer, be.id)


def test_csv_import_invites_an_unverified_account_instead_of_adding_it(client):
    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    squatter = f.user(Role.researcher, agency=be, email="known@umons.example", email_verified_at=None)
    f.login(client, staff)
    assert upload(client, be.id, CSV_OK).status_code == 302
    assert not squatter.has_role(Role.reviewer)
    assert db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=squatter.id)) is None
    invitation = db.session.scalar(sa.select(ReviewerInvitation).filter_by(email="known@umons.example"))
    assert invitation is not None and invitation.accepted_at is None


CSV_COUNTRIES = """email,name,affiliation,keywords,expertise,max_load,country
new.one@kuleuven.example,New One,KU Leuven,machine learning,,6,be
known@umons.example,Known Person,UMONS,batteries,,3,FR
quiet@ulb.example,No Country,ULB,,,2,
"""


def test_csv_import_carries_each_experts_country_to_the_profile(app, client):
    """The optional `country` column (ISO 3166 alpha-2, any case): a known account's profile
    gets it at once, an invited expert's when they accept; none given, none set."""
    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    known = f.user(Role.researcher, agency=be, email="known@umons.example")
    f.login(client, staff)
    assert upload(client, be.id, CSV_COUNTRIES).status_code == 302
    assert db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=known.id)).country == "FR"
    # The pool's list and its download name each reviewer's country.
    assert "<td>France</td>" in client.get(f"/reviews/pool/{be.id}").data.decode()
    exported = client.get(f"/reviews/pool/{be.id}/export.csv").data.decode("utf-8-sig").splitlines()
    assert "Country" in exported[0].split(",") and "France" in exported[1].split(",")
    invitation = db.session.scalar(sa.select(ReviewerInvitation).filter_by(email="new.one@kuleuven.example"))
    assert invitation.country == "BE"
    assert db.session.scalar(sa.select(ReviewerInvitation).filter_by(email="quiet@ulb.example")).country is None
    token = "a-known-token"
    invitation.token_hash = pool._hash(token)
    db.session.commit()
    joining = app.test_client()
    assert joining.post(f"/reviews/pool/join/{token}", data={"password": "a long enough password"}).status_code == 302
    user = db.session.scalar(sa.select(User).filter_by(email="new.one@kuleuven.example"))
    assert db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=user.id)).country == "BE"


def test_csv_import_refuses_a_country_that_is_not_a_code(client):
    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    f.login(client, staff)
    text = "email,name,country\nfirst@ulb.example,First,Belgium\nsecond@ulb.example,Second,XX\n"
    response = upload(client, be.id, text)
    assert response.status_code == 422
    page = response.data.decode()
    assert "Line 2: the country must be a two-letter code such as BE or CN (got “Belgium”)." in page
    assert "Line 3: the country must be a two-letter code such as BE or CN (got “XX”)." in page
    assert db.session.scalar(sa.select(sa.func.count(ReviewerInvitation.id))) == 0


def test_an_invitation_form_may_give_the_experts_country(client):
    _cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=be)
    f.login(client, staff)
    page = client.get(f"/reviews/pool/{be.id}").data.decode()
    assert 'name="country"' in page.split("Invite an expert")[1]
    answer = client.post(f"/reviews/pool/{be.id}", data={"email": "cn.expert@pku.example", "name": "CN Expert",
                                                      "max_load": 4, "country": "CN"})
    assert answer.status_code == 302
    assert db.session.scalar(sa.select(ReviewerInvitation).filter_by(email="cn.expert@pku.example")).country == "CN"
    # A country not on the list: refused on the field, what was typed kept.
    refused = client.post(f"/reviews/pool/{be.id}", data={"email": "x.expert@pku.example", "name": "Kept Name",
                                                       "max_load": 4, "country": "XX"})
    assert refused.status_code == 422
    assert "Not a valid choice" in refused.data.decode() and 'value="Kept Name"' in refused.data.decode()
    assert db.session.scalar(sa.select(ReviewerInvitation).filter_by(email="x.expert@pku.example")) is None
