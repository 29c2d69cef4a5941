"""Issue 12: indexes for the columns the list pages and the proposal page filter and sort on

Revision ID: g12pages01
Revises: g10amend0001
Create Date: 2026-12-02

Lists are read a page at a time: the staff's proposals of one call by reference (keyset),
a side's ranking by rank, the pool and invitations by side, assignments by side, the
audit log by actor; the proposal page loads its members, trips, budget lines, partner
invitations and project-list entries by proposal; the projects pages join projects to
their list and decision. Plain indexes only: nothing to migrate in the data.
"""
from alembic import op

revision = "g12pages01"
down_revision = "g10amend0001"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_proposals_call_reference", "proposals", ["call_id", "reference"]),
    ("ix_ranking_entries_side_rank", "ranking_entries", ["call_id", "agency_id", "rank"]),
    ("ix_assignments_agency_id", "assignments", ["agency_id"]),
    ("ix_reviewer_profiles_agency_id", "reviewer_profiles", ["agency_id"]),
    ("ix_reviewer_invitations_agency_id", "reviewer_invitations", ["agency_id"]),
    ("ix_audit_entries_actor_id", "audit_entries", ["actor_id"]),
    ("ix_proposal_members_proposal_id", "proposal_members", ["proposal_id"]),
    ("ix_partner_invitations_proposal_id", "partner_invitations", ["proposal_id"]),
    ("ix_mobility_trips_proposal_id", "mobility_trips", ["proposal_id"]),
    ("ix_budget_lines_proposal_id", "budget_lines", ["proposal_id"]),
    ("ix_project_list_entries_proposal_id", "project_list_entries", ["proposal_id"]),
    ("ix_projects_decision_id", "projects", ["decision_id"]),
    ("ix_projects_project_list_id", "projects", ["project_list_id"]),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
