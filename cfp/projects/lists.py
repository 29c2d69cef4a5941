"""The projects dashboard as a list: its search, sort and filters (cfp/core/listing.py) and
the one query the page and its exports read."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from cfp.calls.models import Call
from cfp.core.listing import Filter, ListSpec, Sort, state_filter
from cfp.core.scope import within
from cfp.projects.models import Project, ProjectStatus
from cfp.proposals.models import Proposal
from cfp.selection.models import ProjectList


def _my_calls(user):
    return sa.select(Call.id).where(within(user, Call.committee_id))


def project_spec(user) -> ListSpec:
    from cfp.extensions import db

    return ListSpec(
        sorts={"code": Sort(Project.code), "title": Sort(Proposal.title, keyset=False),
               "status": Sort(Project.status), "start": Sort(Project.start_date, keyset=False),
               "end": Sort(Project.end_date, keyset=False)},
        default="code", id_column=Project.id,
        search=(Project.code, Proposal.title, Proposal.acronym),
        filters=(
            Filter("call", _l("Call"), lambda: [(c.id, c.reference) for c in db.session.execute(
                sa.select(Call.id, Call.reference).where(Call.id.in_(_my_calls(user)))
                .order_by(Call.opens_at.desc()))], lambda value: Proposal.call_id == int(value)),
            state_filter("status", _l("Status"), Project.status, list(ProjectStatus)),
        ))


def project_query(user) -> sa.Select:
    """The projects of the committees the user works in (roles are per committee)."""
    mine = sa.select(ProjectList.id).where(ProjectList.call_id.in_(_my_calls(user)))
    return (sa.select(Project).join(Proposal, Proposal.id == Project.proposal_id)
            .where(Project.project_list_id.in_(mine))
            .options(selectinload(Project.reports), selectinload(Project.proposal),
                     selectinload(Project.project_list).selectinload(ProjectList.call)))
