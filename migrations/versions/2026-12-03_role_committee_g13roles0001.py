"""Issue 13: a role is held per Joint Committee (NULL: for every committee, as before)

Revision ID: g13roles0001
Revises: g12pages01
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "g13roles0001"
down_revision = "g12pages01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_roles") as batch:
        batch.add_column(sa.Column("committee_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_user_roles_committee_id_joint_committees"),
                                 "joint_committees", ["committee_id"], ["id"])
        batch.drop_constraint(batch.f("uq_user_roles_user_id_role_agency_id"), type_="unique")
        batch.create_unique_constraint(batch.f("uq_user_roles_user_id_role_agency_id_committee_id"),
                                       ["user_id", "role", "agency_id", "committee_id"])


def downgrade():
    # Grants limited to a committee become grants for every committee; duplicates that
    # this makes (the same role and side in two committees) are kept once.
    op.execute("DELETE FROM user_roles WHERE id NOT IN ("
               "SELECT MIN(id) FROM user_roles GROUP BY user_id, role, agency_id)")
    with op.batch_alter_table("user_roles") as batch:
        batch.drop_constraint(batch.f("uq_user_roles_user_id_role_agency_id_committee_id"), type_="unique")
        batch.create_unique_constraint(batch.f("uq_user_roles_user_id_role_agency_id"),
                                       ["user_id", "role", "agency_id"])
        batch.drop_constraint(batch.f("fk_user_roles_committee_id_joint_committees"), type_="foreignkey")
        batch.drop_column("committee_id")
