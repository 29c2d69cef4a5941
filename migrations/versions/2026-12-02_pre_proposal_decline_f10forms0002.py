"""Issue 10: staff decline a pre-proposal with a reason

Revision ID: f10forms0002
Revises: f10forms0001
Create Date: 2026-12-02

proposals.decline_reason is what staff gave when they declined a pre-proposal (which is
then rejected); the PIs read it on the proposal's page and in their email.
"""
import sqlalchemy as sa
from alembic import op

revision = "f10forms0002"
down_revision = "f10forms0001"
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column is added in place, even on SQLite (no copy of proposals).
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("decline_reason", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("proposals", "decline_reason")
