"""Issue 16: a reviewer's country (of their institution), and a side's diversity rule "at
most one reviewer of the same country per proposal" for sides whose pool spans several

Revision ID: f16country01
Revises: api14tokens01
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "f16country01"
down_revision = "api14tokens01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reviewer_profiles") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
    with op.batch_alter_table("call_sides") as batch:
        batch.drop_constraint("assignment_diversity_known", type_="check")
        batch.create_check_constraint("assignment_diversity_known",
                                      "assignment_diversity IN ('institution', 'country')")


def downgrade():
    op.execute("UPDATE call_sides SET assignment_diversity = NULL WHERE assignment_diversity = 'country'")
    with op.batch_alter_table("call_sides") as batch:
        batch.drop_constraint("assignment_diversity_known", type_="check")
        batch.create_check_constraint("assignment_diversity_known", "assignment_diversity IN ('institution')")
    with op.batch_alter_table("reviewer_profiles") as batch:
        batch.drop_column("country")
