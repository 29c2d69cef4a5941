"""Issue 10: each side its own review settings and review stage

Revision ID: f10reviews01
Revises: e11mail0001
Create Date: 2026-11-30

The period a reviewer has to answer an invitation moves from the call to each side (the
call's value copied to both), and each side may set its own date reviews are due (none:
the call's); each side's staff close its review stage (review_closed_at).
"""
import sqlalchemy as sa
from alembic import op

revision = "f10reviews01"
down_revision = "e11mail0001"
branch_labels = None
depends_on = None


def upgrade():
    # call_sides is referred to by no other table, so SQLite may copy it (for the CHECK).
    with op.batch_alter_table("call_sides") as batch:
        batch.add_column(sa.Column("reviewer_answer_days", sa.Integer(), server_default="7", nullable=False))
        batch.add_column(sa.Column("review_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("review_closed_at", sa.DateTime(), nullable=True))
        batch.create_check_constraint(op.f("ck_call_sides_answer_days_positive"), "reviewer_answer_days >= 1")
    op.execute("UPDATE call_sides SET reviewer_answer_days = (SELECT calls.reviewer_answer_days FROM calls"
               " WHERE calls.id = call_sides.call_id)")
    # Not in batch mode: calls is referred to by many tables, which forbids SQLite's copy;
    # SQLite (3.35 and later) and PostgreSQL both drop a plain column in place.
    op.drop_column("calls", "reviewer_answer_days")


def downgrade():
    op.add_column("calls", sa.Column("reviewer_answer_days", sa.Integer(), server_default="7", nullable=False))
    op.execute("UPDATE calls SET reviewer_answer_days = (SELECT MAX(call_sides.reviewer_answer_days)"
               " FROM call_sides WHERE call_sides.call_id = calls.id)"
               " WHERE EXISTS (SELECT 1 FROM call_sides WHERE call_sides.call_id = calls.id)")
    with op.batch_alter_table("call_sides") as batch:
        batch.drop_constraint(op.f("ck_call_sides_answer_days_positive"), type_="check")
        batch.drop_column("review_closed_at")
        batch.drop_column("review_due_at")
        batch.drop_column("reviewer_answer_days")
