"""An invitation into a side's reviewer pool carries the expert's country (of their
institution), given on the invitation form or in the pool's CSV import, for the profile
made when they accept.

Revision ID: f16country02
Revises: f16country01
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "f16country02"
down_revision = "f16country01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reviewer_invitations") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table("reviewer_invitations") as batch:
        batch.drop_column("country")
