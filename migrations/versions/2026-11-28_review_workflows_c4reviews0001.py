"""Issue 4: reviewer pool, conflicts, affinity, automatic assignment, reminders

Revision ID: c4reviews0001
Revises: b3proposals01
Create Date: 2026-11-28
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "c4reviews0001"
down_revision = "b3proposals01"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
