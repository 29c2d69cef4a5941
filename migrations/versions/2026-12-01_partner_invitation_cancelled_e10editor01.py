"""Issue 10: a partner PI's invitation can be cancelled (or replaced when sent again)

Revision ID: e10editor01
Revises: f12tasks0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "e10editor01"
down_revision = "f12tasks0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("partner_invitations") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("partner_invitations") as batch:
        batch.drop_column("cancelled_at")
