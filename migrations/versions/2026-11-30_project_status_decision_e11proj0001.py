"""Issue 11: a project keeps the decision that renewed, stopped or completed it

Revision ID: e11proj0001
Revises: e11list0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "e11proj0001"
down_revision = "e11list0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("status_decision_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_projects_status_decision_id_decisions"), "decisions",
                                 ["status_decision_id"], ["id"])


def downgrade():
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint(batch.f("fk_projects_status_decision_id_decisions"), type_="foreignkey")
        batch.drop_column("status_decision_id")
