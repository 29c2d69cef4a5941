"""Issue 14: Simplified Chinese is stored as zh_Hans, the name of its catalog folder

The switcher, the profile, the catalogs and Babel all name the language zh_Hans; the
users', agencies' and outbox messages' "zh" become "zh_Hans" so that one code is used
everywhere (a data migration: the columns are wide enough).

Revision ID: f14i18n0001
Revises: g13roles0001
Create Date: 2026-12-03
"""
from alembic import op

revision = "f14i18n0001"
down_revision = "g13roles0001"
branch_labels = None
depends_on = None

COLUMNS = [("users", "locale"), ("agencies", "locale"), ("outbox_messages", "language")]


def upgrade():
    for table, column in COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = 'zh_Hans' WHERE {column} = 'zh'")


def downgrade():
    for table, column in COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = 'zh' WHERE {column} = 'zh_Hans'")
