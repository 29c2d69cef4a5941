"""Issue 11: a funding plan keeps why each proposal is funded, on the reserve or out

Revision ID: e11plan0001
Revises: e7sessions01
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "e11plan0001"
down_revision = "e7sessions01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("project_lists") as batch:
        batch.add_column(sa.Column("plan_reasons", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("project_lists") as batch:
        batch.drop_column("plan_reasons")
