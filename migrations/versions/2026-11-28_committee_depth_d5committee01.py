"""Issue 5: joint selection, funding plan, meetings, minutes, projects

Revision ID: d5committee01
Revises: c4reviews0001
Create Date: 2026-11-28
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "d5committee01"
down_revision = "c4reviews0001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
