"""Issue 12: the task outbox, so that no background step is lost when the broker is down

Revision ID: f12tasks0001
Revises: e11env0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "f12tasks0001"
down_revision = "e11env0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "task_outbox",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("status", sa.Enum("queued", "done", name="taskstatus", native_enum=False,
                                    create_constraint=True, length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("relayed_at", sa.DateTime(), nullable=True),
        sa.Column("relays", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_outbox")),
    )
    with op.batch_alter_table("task_outbox") as batch:
        batch.create_index(batch.f("ix_task_outbox_status"), ["status"])


def downgrade():
    with op.batch_alter_table("task_outbox") as batch:
        batch.drop_index(batch.f("ix_task_outbox_status"))
    op.drop_table("task_outbox")
