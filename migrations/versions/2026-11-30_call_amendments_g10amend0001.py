"""Issue 10: an approved or open call is amended only with both sides' approval

Revision ID: g10amend0001
Revises: f13logs0001
Create Date: 2026-11-30

Each amendment of a call is a row (call_amendments): its number, who proposed it for
which side, why, each changed field's old and new value, and what the other side decided.
A call counts the amendments applied to it (calls.version, 0 for the call as approved).
"""
import sqlalchemy as sa
from alembic import op

revision = "g10amend0001"
down_revision = "f13logs0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "call_amendments",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_by_agency_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("state", sa.Enum("proposed", "approved", "rejected", "withdrawn", name="amendmentstate",
                                   native_enum=False, create_constraint=True, length=13), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_amendments_call_id_calls"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_call_amendments_decided_by_id_users")),
        sa.ForeignKeyConstraint(["proposed_by_agency_id"], ["agencies.id"],
                                name=op.f("fk_call_amendments_proposed_by_agency_id_agencies")),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["users.id"], name=op.f("fk_call_amendments_proposed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_amendments")),
        sa.UniqueConstraint("call_id", "version", name=op.f("uq_call_amendments_call_id_version")),
    )
    op.create_index(op.f("ix_call_amendments_call_id"), "call_amendments", ["call_id"], unique=False)
    # Adding a column is done in place, also by SQLite (which may not copy `calls`).
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    # Not in batch mode: calls is referred to by many tables, which forbids SQLite's copy.
    op.drop_column("calls", "version")
    op.drop_index(op.f("ix_call_amendments_call_id"), table_name="call_amendments")
    op.drop_table("call_amendments")
