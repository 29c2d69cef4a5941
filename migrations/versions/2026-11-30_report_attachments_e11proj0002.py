"""Issue 11: a project report may carry one PDF annex

Revision ID: e11proj0002
Revises: e11proj0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "e11proj0002"
down_revision = "e11proj0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("project_reports") as batch:
        batch.add_column(sa.Column("attachment_name", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("attachment_stored_name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("attachment_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attachment_sha256", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("project_reports") as batch:
        for column in ("attachment_sha256", "attachment_size", "attachment_stored_name", "attachment_name"):
            batch.drop_column(column)
