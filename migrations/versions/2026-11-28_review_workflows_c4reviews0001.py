"""Issue 4: reviewer pool, conflicts, affinity, automatic assignment, reminders

Revision ID: c4reviews0001
Revises: b3proposals01
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "c4reviews0001"
down_revision = "b3proposals01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_reminder_days_before", sa.Integer(), server_default="3", nullable=False))
        batch_op.add_column(sa.Column("review_reminder_days_after", sa.Integer(), server_default="2", nullable=False))
        batch_op.add_column(sa.Column("reviewers_see_side_reviews", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("reviewer_min_load", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("normalise_review_scores", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_calls_review_settings_not_negative"),
            "review_reminder_days_before >= 0 AND review_reminder_days_after >= 0 AND reviewer_min_load >= 0",
        )
    with op.batch_alter_table("reviewer_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unavailable_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("unavailable_until", sa.Date(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_reviewer_profiles_unavailable_order"),
            "unavailable_until IS NULL OR unavailable_from IS NULL OR unavailable_from <= unavailable_until",
        )
    op.create_table(
        "reviewer_invitations",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("affiliation", sa.String(length=300), nullable=False),
        sa.Column("keywords", sa.String(length=500), nullable=False),
        sa.Column("expertise", sa.Text(), nullable=False),
        sa.Column("max_load", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_user_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint("max_load >= 0", name=op.f("ck_reviewer_invitations_invited_load_not_negative")),
        sa.ForeignKeyConstraint(["accepted_user_id"], ["users.id"],
                                name=op.f("fk_reviewer_invitations_accepted_user_id_users")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_reviewer_invitations_agency_id_agencies")),
        sa.ForeignKeyConstraint(["invited_by_id"], ["users.id"],
                                name=op.f("fk_reviewer_invitations_invited_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviewer_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_reviewer_invitations_token_hash")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_assignments_replaced_by_id_assignments"), "assignments", ["replaced_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_assignments_replaced_by_id_assignments"), type_="foreignkey")
        batch_op.drop_column("replaced_by_id")
    op.drop_table("reviewer_invitations")
    with op.batch_alter_table("reviewer_profiles", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_reviewer_profiles_unavailable_order"), type_="check")
        batch_op.drop_column("unavailable_until")
        batch_op.drop_column("unavailable_from")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_calls_review_settings_not_negative"), type_="check")
        batch_op.drop_column("normalise_review_scores")
        batch_op.drop_column("reviewer_min_load")
        batch_op.drop_column("reviewers_see_side_reviews")
        batch_op.drop_column("review_reminder_days_after")
        batch_op.drop_column("review_reminder_days_before")
