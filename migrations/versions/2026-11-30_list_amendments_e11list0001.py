"""Issue 11: a project list may amend an adopted one

Revision ID: e11list0001
Revises: e11mail0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "e11list0001"
down_revision = "e11mail0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("project_lists") as batch:
        batch.add_column(sa.Column("amends_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_project_lists_amends_id_project_lists"), "project_lists",
                                 ["amends_id"], ["id"])


def downgrade():
    with op.batch_alter_table("project_lists") as batch:
        batch.drop_constraint(batch.f("fk_project_lists_amends_id_project_lists"), type_="foreignkey")
        batch.drop_column("amends_id")
