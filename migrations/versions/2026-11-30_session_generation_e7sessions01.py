"""users.session_generation: every session holds it, adding one ends them all

Revision ID: e7sessions01
Revises: d5committee01
Create Date: 2026-11-30

Written by hand. Existing users start at 0; sessions made before this change
hold the bare user id and are no sessions any more (everyone logs in again once).
"""
import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "e7sessions01"
down_revision = "d5committee01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0",
                                      nullable=False))


def downgrade():
    # See 2026-11-28_accounts: SQLite >= 3.35 drops a column in place; the batch
    # copy of `users` fails once other tables refer to it.
    in_place = op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35)
    with op.batch_alter_table("users", schema=None, recreate="never" if in_place else "auto") as batch_op:
        batch_op.drop_column("session_generation")
