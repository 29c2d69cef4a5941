"""Issue 16: a side may ask its automatic assignment for a floor for every proposal and for
at most one reviewer of the same institution per proposal

Revision ID: fair16floor01
Revises: admin13invite01
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "fair16floor01"
down_revision = "admin13invite01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call_sides") as batch:
        batch.add_column(sa.Column("assignment_floor", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("assignment_diversity", sa.String(length=20), nullable=True))
        batch.create_check_constraint("assignment_diversity_known", "assignment_diversity IN ('institution')")


def downgrade():
    with op.batch_alter_table("call_sides") as batch:
        batch.drop_constraint("assignment_diversity_known", type_="check")
        batch.drop_column("assignment_diversity")
        batch.drop_column("assignment_floor")
