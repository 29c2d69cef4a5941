"""accounts: email verification, password reset tokens, login attempts

Revision ID: a3c1accounts01
Revises: 89553de12081
Create Date: 2026-11-28 18:00:00

Written by hand. Existing accounts are taken as verified (their address was
never checked, but they predate the rule; asking every existing researcher to
verify in the middle of a call would only get in their way). New accounts
start unverified.
"""
import sqlite3

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a3c1accounts01"
down_revision = "89553de12081"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")

    op.create_table(
        "login_attempts",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_email_created_at", ["email", "created_at"], unique=False)
        batch_op.create_index("ix_login_attempts_address_created_at", ["address", "created_at"], unique=False)

    op.create_table(
        "account_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Enum("verify_email", "reset_password", name="tokenpurpose",
                                     native_enum=False, create_constraint=True, length=18),
                  nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_tokens_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_account_tokens_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_account_tokens_user_id"))
    op.drop_table("account_tokens")

    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_address_created_at")
        batch_op.drop_index("ix_login_attempts_email_created_at")
    op.drop_table("login_attempts")

    # SQLite 3.35+ drops a plain column in place. Batch mode's other way, copying
    # `users` into a new table and dropping the old one, fails as soon as rows of
    # other tables refer to users (foreign keys are on), so it is kept for older
    # SQLite only.
    in_place = op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35)
    with op.batch_alter_table("users", schema=None, recreate="never" if in_place else "auto") as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("email_verified_at")
