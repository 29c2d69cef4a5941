"""Issue 11: envelopes shared by a committee's calls per budget year

Revision ID: e11env0001
Revises: e11proj0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "e11env0001"
down_revision = "e11proj0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("selection_settings") as batch:
        batch.add_column(sa.Column("first_budget_year", sa.Integer(), nullable=True))
    op.create_table(
        "shared_envelopes",
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("budget_year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_shared_envelopes_amount_not_negative")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_shared_envelopes_agency_id_agencies")),
        sa.ForeignKeyConstraint(["committee_id"], ["joint_committees.id"],
                                name=op.f("fk_shared_envelopes_committee_id_joint_committees"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_envelopes")),
        sa.UniqueConstraint("committee_id", "agency_id", "budget_year",
                            name=op.f("uq_shared_envelopes_committee_id_agency_id_budget_year")),
    )


def downgrade():
    op.drop_table("shared_envelopes")
    with op.batch_alter_table("selection_settings") as batch:
        batch.drop_column("first_budget_year")
