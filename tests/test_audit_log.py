"""The audit log names who did what to which object, shows before and after as a
readable difference, and filters by object, actor, action and date."""
from __future__ import annotations

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
