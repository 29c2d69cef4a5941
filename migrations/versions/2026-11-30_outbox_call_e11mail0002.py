"""Issue 11: a message knows the call it is about, for the committee's secretariat

Revision ID: e11mail0002
Revises: e11mail0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "e11mail0002"
down_revision = "e11mail0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("call_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_outbox_messages_call_id"), ["call_id"])
        batch.create_foreign_key(batch.f("fk_outbox_messages_call_id_calls"), "calls", ["call_id"], ["id"])


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_constraint(batch.f("fk_outbox_messages_call_id_calls"), type_="foreignkey")
        batch.drop_index(batch.f("ix_outbox_messages_call_id"))
        batch.drop_column("call_id")
