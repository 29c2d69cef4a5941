"""The audit log names who did what to which object, shows before and after as a
readable difference, and filters by object, actor, action and date."""
from __future__ import annotations

import itertools
from datetime import timedelta

from flask_login import current_user

from cfp.core.audit import AuditEntry, log_action
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from tests import factories as f


def test_an_entry_names_the_object_even_when_given_the_current_user_proxy(app):
    user = f.user(Role.researcher, name="Li Wei")
    with app.test_request_context():
        from flask_login import login_user

        login_user(user)
        entry = log_action(current_user, "user.update_profile", current_user)
    assert entry.object_type == "User" and entry.object_id == user.id


def _page(client, query=""):
    return client.get(f"/audit{query}").data.decode()


def test_the_log_reads_as_sentences_with_a_difference_and_filters(client):
    cn, _be, committee = f.world()
    secretariat = f.user(Role.secretariat, name="Hélène Dumont")
    staff = f.user(Role.staff, agency=cn, name="Staff MOST")
    call = f.call(committee, reference="CN-BE-2031")
    log_action(staff, "call.edit", call, before={"title": "Joint call", "duration_months": 24},
               after={"title": "Joint call on energy", "duration_months": 24})
    old = log_action(secretariat, "call.score_method", call, before={"score_method": "scale"},
                     after={"score_method": "zscore"})
    old.created_at = utcnow() - timedelta(days=40)
    db.session.commit()
    f.login(client, secretariat)

    page = _page(client)
    assert "LocalProxy" not in page and "{&#34;" not in page and '{"' not in page
    at = page.index("<code>call.edit</code>")
    row = page[page.rindex("<tr>", 0, at):page.index("</tr>", at)]
    assert "Staff MOST" in row and "CN-BE-2031" in row
    assert "title" in row and "Joint call" in row and "Joint call on energy" in row
    assert "duration_months" not in row  # unchanged: not part of the difference

    by_actor = _page(client, f"?actor={staff.id}")
    assert "call.edit" in by_actor and "call.score_method" not in by_actor
    by_action = _page(client, "?action=call.score")
    assert "call.score_method" in by_action and "call.edit" not in by_action
    recent = _page(client, f"?since={(utcnow() - timedelta(days=7)).date().isoformat()}")
    assert "call.edit" in recent and "call.score_method" not in recent
    older = _page(client, f"?until={(utcnow() - timedelta(days=30)).date().isoformat()}")
    assert "call.score_method" in older and "call.edit" not in older
    by_object = _page(client, f"?type=Call&id={call.id}")
    assert "call.edit" in by_object and "call.score_method" in by_object
    assert db.session.query(AuditEntry).count() >= 2


# Issue 13: the log is scoped per Joint Committee.

def _committee_b(cn):
    from cfp.calls.models import Agency, Agreement, JointCommittee

    it = Agency(code="IT", short_name="MUR", name="Ministry of University and Research",
                country="Italy", currency="EUR", timezone="Europe/Rome", locale="en")
    committee = JointCommittee(agreement=Agreement(title="China–Italy", agency_a=cn, agency_b=it),
                               name="China–Italy Joint Committee")
    db.session.add(committee)
    db.session.flush()
    return committee


_meeting_numbers = itertools.count(1)


def _committee_work(committee, tag: str, actor) -> dict:
    """One entry on each kind of object of a committee's work, each action naming `tag`."""
    from cfp.core.jobs import Job

    a, b = committee.agencies
    call = f.call(committee, reference=f"CALL-{tag}")
    proposal = f.proposal(call, f.user(Role.researcher, agency=a), f.user(Role.researcher, agency=b))
    assignment = f.assignment(proposal, f.reviewer(a))
    meeting = f.meeting(committee, number=next(_meeting_numbers))
    decision = f.decision(meeting)
    plist = f.project_list(call, [proposal])
    job = Job(kind="assignment", created_by_id=actor.id, params={"call_id": call.id, "agency_id": a.id})
    db.session.add(job)
    db.session.flush()
    objects = {"call": call, "side": call.sides[0], "proposal": proposal, "assignment": assignment,
               "meeting": meeting, "decision": decision, "plist": plist, "job": job, "committee": committee}
    return {kind: log_action(actor, f"test.{kind}-{tag}", obj) for kind, obj in objects.items()}


def test_each_committees_secretariat_reads_only_its_own_committees_entries(client):
    cn, _be, committee_a = f.world()
    committee_b = _committee_b(cn)
    admin = f.user(Role.admin, name="The admin")
    secretariat = {"A": f.user(name="Secretary of A"), "B": f.user(name="Secretary of B")}
    secretariat["A"].grant(Role.secretariat, committee=committee_a)
    secretariat["B"].grant(Role.secretariat, committee=committee_b)
    entries = {"A": _committee_work(committee_a, "A", admin), "B": _committee_work(committee_b, "B", admin)}
    # Installation-wide: an account, an agency.
    log_action(admin, "test.user-wide", secretariat["A"])
    log_action(admin, "test.agency-wide", cn)
    db.session.commit()

    for tag, committee in (("A", committee_a), ("B", committee_b)):
        assert {e.committee_id for e in entries[tag].values()} == {committee.id}, tag
    wide = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action.like("test.%-wide"))).all()
    assert [e.committee_id for e in wide] == [None, None]

    for tag, other in (("A", "B"), ("B", "A")):
        f.login(client, secretariat[tag])
        page = _page(client)
        for kind in entries[tag]:
            assert f"test.{kind}-{tag}" in page, (tag, kind)
            assert f"test.{kind}-{other}" not in page, (tag, kind)
        assert "-wide" not in page
        # Filters do not widen it: another committee's object asked for by number.
        call_b = entries[other]["call"].object_id
        assert f"test.call-{other}" not in _page(client, f"?type=Call&id={call_b}")
        # Its download is the same list.
        exported = client.get("/audit/export.csv").get_data(as_text=True)
        assert all(f"test.{kind}-{tag}" in exported for kind in entries[tag])
        assert not any(f"test.{kind}-{other}" in exported for kind in entries[other]) and "-wide" not in exported
        client.post("/logout")

    f.login(client, admin)
    page = _page(client)
    assert all(f"test.{kind}-{tag}" in page for tag in "AB" for kind in entries[tag])
    assert "test.user-wide" in page and "test.agency-wide" in page


def test_the_scoped_log_runs_as_many_queries_for_many_rows_as_for_few(client):
    from tests.test_query_counts import count_queries

    cn, _be, committee_a = f.world()
    committee_b = _committee_b(cn)
    secretary = f.user(name="Secretary of A")
    secretary.grant(Role.secretariat, committee=committee_a)
    admin = f.user(Role.admin)
    _committee_work(committee_a, "A", admin)
    _committee_work(committee_b, "B", admin)
    db.session.commit()
    f.login(client, secretary)

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/audit").status_code == 200
        return counter["n"]

    few = queries()
    for tag in ("A2", "A3", "A4"):
        _committee_work(committee_a, tag, admin)
    db.session.commit()
    assert queries() == few
