"""Per-call form settings: the abstract's word limit and each long text field's length are
set on the call. The editor shows them and saves a draft over them (never cutting the
text); submission is refused naming each field over its limit, with the limit."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cfp.calls.models import TEXT_LIMITS, Call, CallState
from cfp.calls.operations import CallTerms, CriterionTerms, SideTerms, update_call
from cfp.core.errors import DomainError
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalState
from cfp.proposals.operations import confirm_proposal, missing_for_submission, submit_proposal
from tests import factories as f
from tests.test_path import call_form


@pytest.fixture
def limited(app):
    """An open call with tight limits, and a draft both PIs confirmed whose texts pass
    them by: a 5-word abstract over a limit of 3 words, a title over 12 characters."""
    cn, be, committee = f.world()
    call = f.call(committee)
    call.abstract_word_limit = 3
    call.text_limits = {"title": 12, "keywords": 8}
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be, title="Perovskite solar cells")
    proposal.abstract = "We study perovskites at length."
    proposal.keywords = "perovskite, solar"
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    db.session.commit()
    return call, proposal, pi_cn, pi_be


def test_staff_set_the_limits_on_the_call_form_and_find_them_again(client):
    cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=cn)
    db.session.commit()
    f.login(client, staff)
    data = call_form(cn, be, opens=utcnow() + timedelta(days=1), closes=utcnow() + timedelta(days=30))
    data.update({"abstract_word_limit": "250", "limit_title": "120", "limit_abstract": "3000",
                 "limit_keywords": "200", "limit_acronym": ""})
    assert client.post("/calls/new", data=data).status_code == 302
    call = db.session.scalar(sa.select(Call).filter_by(reference="CN-BE-2031"))
    assert call.abstract_word_limit == 250
    assert [call.text_limit(name) for name in ("title", "abstract", "keywords", "acronym")] == [
        120, 3000, 200, TEXT_LIMITS["acronym"].default]
    page = client.get(f"/calls/{call.id}/edit").data.decode()
    assert 'name="abstract_word_limit"' in page and 'value="250"' in page
    assert 'name="limit_title"' in page and 'value="120"' in page
    assert "Title: most characters" in page and "Blank: 300." in page  # labelled, with help text
    shown = client.get(f"/calls/{call.id}").data.decode()
    assert "Abstract: at most 250 words" in shown and "Title: at most 120 characters" in shown


def test_a_limit_beyond_what_the_database_keeps_is_refused_with_the_typed_values(client):
    cn, be, _committee = f.world()
    staff = f.user(Role.staff, agency=cn)
    db.session.commit()
    f.login(client, staff)
    data = call_form(cn, be, opens=utcnow() + timedelta(days=1), closes=utcnow() + timedelta(days=30))
    data.update({"limit_title": str(TEXT_LIMITS["title"].ceiling + 1), "abstract_word_limit": "0"})
    response = client.post("/calls/new", data=data)
    page = response.data.decode()
    assert response.status_code == 422
    assert f'value="{TEXT_LIMITS["title"].ceiling + 1}"' in page
    assert f"Number must be between 1 and {TEXT_LIMITS['title'].ceiling}." in page
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 0


def test_the_database_keeps_at_least_the_largest_limit_allowed(app):
    for name, limit in TEXT_LIMITS.items():
        column = Proposal.__table__.c[name]
        length = getattr(column.type, "length", None)
        assert length is None or length >= limit.ceiling, name
        assert limit.default <= limit.ceiling


def test_submission_names_each_field_over_its_limit_with_the_limit(limited):
    _call, proposal, pi_cn, _ = limited
    with pytest.raises(DomainError) as refused:
        submit_proposal(pi_cn, proposal)
    message = refused.value.message
    assert "an abstract of at most 3 words (it has 5)" in message
    assert "a title of at most 12 characters (it has 22)" in message
    assert "keywords of at most 8 characters (it has 17)" in message
    assert "acronym" not in message
    db.session.rollback()
    assert proposal.state == ProposalState.draft
    assert proposal.title == "Perovskite solar cells" and proposal.abstract == "We study perovskites at length."


def test_within_the_limits_the_proposal_is_submitted(limited):
    call, proposal, pi_cn, _pi_be = limited
    call.abstract_word_limit = 5
    call.text_limits = {"title": 22, "keywords": 17}
    submit_proposal(pi_cn, proposal)
    assert proposal.state == ProposalState.submitted


def test_the_editor_shows_each_limit_and_saves_a_draft_over_it_uncut(limited, client):
    _call, proposal, pi_cn, _ = limited
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{proposal.id}/edit").data.decode()
    hints = {" ".join(m.split()) for m in re.findall(r'<p class="small mb-2 text-limit.*?</p>', page, re.DOTALL)}
    words = next(h for h in hints if 'data-unit="words"' in h)
    assert 'data-max="3"' in words and 'text-danger' in words
    assert re.sub("<[^>]+>", "", words).strip() == "At most 3 words; 5 now."
    title = next(h for h in hints if 'data-limit-for="title"' in h)
    assert re.sub("<[^>]+>", "", title).strip() == "At most 12 characters; 22 now."
    assert 'data-now-text="%(count)s now."' in page  # what text_limits.js fills in as you type
    long_abstract = "A much longer abstract of many words than the call allows."
    response = client.post(f"/proposals/{proposal.id}/edit", data={
        "version": proposal.version, "title": proposal.title, "acronym": proposal.acronym,
        "abstract": long_abstract, "keywords": proposal.keywords,
        "priority_area_id": proposal.priority_area_id, "duration_months": "24",
        "institution_a": "Tsinghua University", "institution_b": "UCLouvain",
    })
    assert response.status_code == 302
    db.session.refresh(proposal)
    assert proposal.abstract == long_abstract
    shown = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "an abstract of at most 3 words (it has 11)" in shown  # in what is still missing


def test_beyond_what_the_database_keeps_a_save_is_refused_keeping_the_text(limited, client):
    _call, proposal, pi_cn, _ = limited
    f.login(client, pi_cn)
    too_long = "T" * (TEXT_LIMITS["title"].ceiling + 1)
    response = client.post(f"/proposals/{proposal.id}/edit", data={
        "version": proposal.version, "title": too_long, "abstract": proposal.abstract,
        "priority_area_id": proposal.priority_area_id,
        "institution_a": "Tsinghua University", "institution_b": "UCLouvain",
    })
    assert response.status_code == 422
    assert too_long in response.data.decode()
    db.session.refresh(proposal)
    assert proposal.title == "Perovskite solar cells"


def test_lowering_a_limit_never_alters_stored_text(limited):
    call, proposal, _pi_cn, _ = limited
    call.state = CallState.draft
    cn, be = call.agencies
    staff = f.user(Role.staff, agency=cn)
    terms = CallTerms(
        reference=call.reference, title=call.title, opens_at=call.opens_at, closes_at=call.closes_at,
        priority_areas=[a.name for a in call.priority_areas],
        criteria=[CriterionTerms(name=c.name, weight=c.weight) for c in call.criteria],
        sides=[SideTerms(agency_id=a.id, budget_envelope=Decimal(1000), max_request=Decimal(100)) for a in (cn, be)],
        abstract_word_limit=1, text_limits={"title": 1, "abstract": 5, "keywords": 1, "acronym": 1},
    )
    update_call(staff, call, terms)
    db.session.commit()
    db.session.refresh(proposal)
    assert proposal.title == "Perovskite solar cells" and proposal.abstract == "We study perovskites at length."
    assert proposal.acronym == "PSC" and proposal.keywords == "perovskite, solar"
    missing = missing_for_submission(proposal)
    assert "an abstract of at most 1 word (it has 5)" in missing
    assert "an abstract of at most 5 characters (it has 31)" in missing
    assert "an acronym of at most 1 character (it has 3)" in missing


def test_the_call_refuses_a_limit_beyond_the_ceiling(limited):
    call, _proposal, _pi_cn, _ = limited
    call.state = CallState.draft
    cn, be = call.agencies
    staff = f.user(Role.staff, agency=cn)
    terms = CallTerms(
        reference=call.reference, title=call.title, opens_at=call.opens_at, closes_at=call.closes_at,
        priority_areas=["Materials"], criteria=[CriterionTerms(name="Excellence", weight=Decimal(1))],
        sides=[SideTerms(agency_id=a.id, budget_envelope=Decimal(1000), max_request=Decimal(100)) for a in (cn, be)],
        text_limits={"title": TEXT_LIMITS["title"].ceiling + 1},
    )
    with pytest.raises(DomainError, match="at most 300 characters"):
        update_call(staff, call, terms)
