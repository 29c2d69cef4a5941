"""Issue 11: an outbox message keeps the instant of its next attempt

Revision ID: e11mail0001
Revises: e11plan0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "e11mail0001"
down_revision = "e11plan0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch.create_index(batch.f("ix_outbox_messages_next_attempt_at"), ["next_attempt_at"])


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_index(batch.f("ix_outbox_messages_next_attempt_at"))
        batch.drop_column("next_attempt_at")
