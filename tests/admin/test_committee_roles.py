"""A role is held per Joint Committee: staff of MOST for CN–BE is not staff for CN–IT.
A grant without a committee (admins, grants made before) holds for every committee."""
from __future__ import annotations

from cfp.calls.models import Agency, Agreement, JointCommittee
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f


def _second_committee(cn):
    it = Agency(code="IT", short_name="MUR", name="Ministry of University and Research",
                country="Italy", currency="EUR", timezone="Europe/Rome", locale="en")
    committee = JointCommittee(agreement=Agreement(title="China–Italy agreement", agency_a=cn, agency_b=it),
                               name="China–Italy Joint Committee")
    db.session.add_all([it, committee])
    db.session.flush()
    return it, committee


def test_staff_of_one_committee_is_not_staff_of_a_call_of_another_with_the_same_agency():
    cn, _be, cn_be = f.world()
    _it, cn_it = _second_committee(cn)
    staff = f.user(agency=cn)
    staff.grant(Role.staff, cn, cn_be)
    db.session.flush()
    call_be, call_it = f.call(cn_be), f.call(cn_it, reference="CN-IT-2025")
    call_it.drafted_by_agency_id = cn.id

    assert staff.has_role(Role.staff, cn, cn_be) and not staff.has_role(Role.staff, cn, cn_it)
    assert staff.has_role(Role.staff, cn)  # without a committee: in any committee
    assert call_be.is_staff(staff) and call_be.is_run_by(staff)
    assert not call_it.is_staff(staff) and not call_it.is_run_by(staff)
    proposal = f.proposal(call_it, f.user(Role.researcher, agency=cn))
    assert not proposal.is_staff(staff)
    assert staff.committee_ids() == {cn_be.id} and staff.committee_ids(Role.staff) == {cn_be.id}
    assert staff.committee_ids(Role.cochair) == set()
    assert staff.sides_for(Role.staff, cn_it) == set() and staff.sides_for(Role.staff, cn_be) == {cn.id}


def test_a_grant_without_a_committee_holds_for_every_committee():
    cn, _be, cn_be = f.world()
    _it, cn_it = _second_committee(cn)
    old_staff = f.user(Role.staff, agency=cn)  # granted before roles were per committee
    admin = f.user(Role.admin)
    for committee in (cn_be, cn_it):
        assert old_staff.has_role(Role.staff, cn, committee)
        assert admin.has_role(Role.admin, committee=committee)
    assert old_staff.committee_ids() is None and admin.committee_ids() is None
    assert f.user(Role.researcher, agency=cn).committee_ids() == set()


def test_secretariat_and_cochair_are_granted_per_committee():
    cn, _be, cn_be = f.world()
    it, cn_it = _second_committee(cn)
    person = f.user(agency=it)
    person.grant(Role.secretariat, committee=cn_it)
    person.grant(Role.cochair, it, cn_it)
    db.session.flush()
    assert person.has_role(Role.secretariat, committee=cn_it)
    assert not person.has_role(Role.secretariat, committee=cn_be)
    assert person.has_role(Role.cochair, it, cn_it) and not person.has_role(Role.cochair, cn, cn_it)
    call_it, call_be = f.call(cn_it, reference="CN-IT-2026"), f.call(cn_be)
    assert call_it.is_run_by(person) and not call_be.is_run_by(person)
    assert person.committee_ids() == {cn_it.id}
    # Revoking is exact: the grant for that committee only.
    assert not person.revoke(Role.secretariat)
    assert person.revoke(Role.secretariat, committee=cn_it)
    assert not person.has_role(Role.secretariat)
