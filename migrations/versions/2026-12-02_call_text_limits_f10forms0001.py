"""Issue 10: each call sets the limits of a proposal's texts

Revision ID: f10forms0001
Revises: f10reviews01
Create Date: 2026-12-02

calls.text_limits holds {field: most characters} for the proposal's long texts (a field
left out keeps its default, the limit fixed until now); abstract_word_limit already existed.
"""
import sqlalchemy as sa
from alembic import op

revision = "f10forms0001"
down_revision = "f10reviews01"
branch_labels = None
depends_on = None


def upgrade():
    # Adding a nullable column needs no copy of the table, even on SQLite (calls is
    # referred to by many tables, which forbids the copy).
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("text_limits", sa.JSON(), nullable=True))


def downgrade():
    # Not in batch mode, for the same reason: SQLite (3.35 and later) and PostgreSQL both
    # drop a plain column in place.
    op.drop_column("calls", "text_limits")
