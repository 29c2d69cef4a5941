"""Issue 13: a task keeps the id of the web request that queued it, for the logs

Revision ID: f13logs0001
Revises: f10forms0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "f13logs0001"
down_revision = "f10forms0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task_outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("task_outbox") as batch:
        batch.drop_column("request_id")
