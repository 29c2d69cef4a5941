"""Issue 13: a link to choose a password sent with an administrator's invitation says who
invited (its own page, not the password reset's)

Revision ID: admin13invite01
Revises: admin13audit01
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "admin13invite01"
down_revision = "admin13audit01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account_tokens") as batch:
        batch.add_column(sa.Column("invited_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_account_tokens_invited_by_id_users"), "users",
                                 ["invited_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("account_tokens") as batch:
        batch.drop_constraint(batch.f("fk_account_tokens_invited_by_id_users"), type_="foreignkey")
        batch.drop_column("invited_by_id")
