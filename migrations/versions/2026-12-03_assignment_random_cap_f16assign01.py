"""Issue 16: a side may randomise its automatic assignment (each pair at most q %)

Revision ID: f16assign01
Revises: f13gdpr0001
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "f16assign01"
down_revision = "f13gdpr0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call_sides") as batch:
        batch.add_column(sa.Column("assignment_random_cap", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            "random_cap_percent", "assignment_random_cap >= 1 AND assignment_random_cap <= 100")


def downgrade():
    with op.batch_alter_table("call_sides") as batch:
        batch.drop_constraint("random_cap_percent", type_="check")
        batch.drop_column("assignment_random_cap")
