"""Issue 3: proposal editor depth, documents, eligibility rules, two-stage calls

Revision ID: b3proposals01
Revises: a3c1accounts01
Create Date: 2026-11-28
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "b3proposals01"
down_revision = "a3c1accounts01"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
