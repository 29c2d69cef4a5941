"""The projects dashboard as CSV / XLSX: each project of the user's committees with its
status, dates, reports and its allocations per side and year (one row per project
and side, in that side's currency)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from cfp.calls.models import Agency
from cfp.core import exports
from cfp.core.roles import Role, role_required
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.projects.lists import project_query, project_spec
from cfp.projects.models import Project, ProjectAllocation, ReportState
from cfp.projects.views import bp

ROLES = (Role.secretariat, Role.staff, Role.cochair, Role.admin)


def _authorize() -> None:
    exports.require_role(*ROLES)


def _projects_table(user, query) -> exports.Table:
    # The dashboard's projects with its search, filters and order (cfp/projects/lists.py).
    source = project_spec(user).read(query).apply(project_query(user)).options(selectinload(Project.allocations))
    years = db.session.scalar(sa.select(sa.func.max(ProjectAllocation.year)).where(
        ProjectAllocation.project_id.in_(source.with_only_columns(Project.id).order_by(None)))) or 1
    agencies = {a.id: a for a in db.session.scalars(sa.select(Agency))}
    today = utcnow().date()

    def prepare(projects):
        rows = []
        for p in projects:
            by_side: dict = {}
            for a in p.allocations:
                by_side.setdefault((a.agency_id, a.currency), {})[a.year] = a.amount
            for (agency_id, currency), amounts in sorted(by_side.items()) or [((None, None), {})]:
                rows.append((p, agencies.get(agency_id), currency, amounts))
        return rows

    def due(p):
        return [r for r in p.reports if r.state == ReportState.due]

    columns = [
        exports.Column(_("Code"), lambda r: r[0].code),
        exports.Column(_("Call"), lambda r: r[0].project_list.call.reference),
        exports.Column(_("Title"), lambda r: r[0].proposal.title),
        exports.Column(_("Status"), lambda r: r[0].status.label),
        exports.Column(_("Start"), lambda r: r[0].start_date, "date"),
        exports.Column(_("End"), lambda r: r[0].end_date, "date"),
        exports.Column(_("Reports due"), lambda r: ", ".join(
            f"{rep.kind.label} ({rep.due_on.isoformat()})" if rep.due_on else str(rep.kind.label) for rep in due(r[0]))),
        exports.Column(_("Overdue"), lambda r: len([rep for rep in due(r[0]) if rep.due_on and rep.due_on < today]),
                       "int"),
        exports.Column(_("Side"), lambda r: r[1].short_name if r[1] else None),
        exports.Column(_("Currency"), lambda r: r[2]),
    ]
    for y in range(1, years + 1):
        columns.append(exports.Column(_("Year %(y)s", y=y), lambda r, y=y: r[3].get(y), "money",
                                      currency=lambda r: r[2]))
    columns.append(exports.Column(_("Total"), lambda r: sum(r[3].values()) if r[3] else None, "money",
                                  currency=lambda r: r[2]))
    return exports.Table("projects", columns, source, prepare=prepare, title=_("Projects"))


exports.register("projects.dashboard", authorize=_authorize, build=_projects_table, label=_l("Projects"))


@bp.route("/dashboard/export.<fmt>")
@role_required(*ROLES)
def dashboard_export(fmt: str):
    return exports.respond("projects.dashboard", fmt)
