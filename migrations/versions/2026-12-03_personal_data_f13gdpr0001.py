"""Issue 13, personal data: the PI's name as it was at submission, when an account was
anonymised, when a call was decided (retention of reviewer data counts from then), and
on PostgreSQL an audit log that stays append-only except for the redaction of a deleted
account's email address.

Revision ID: f13gdpr0001
Revises: f14i18n0001
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "f13gdpr0001"
down_revision = "f14i18n0001"
branch_labels = None
depends_on = None

APPEND_ONLY = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only';
    END;
    $$ LANGUAGE plpgsql;
"""

# An UPDATE is let through only inside a transaction that set cfp.redact_audit (the
# deletion of an account, cfp/auth/deletion.py), and only if it changes nothing but the
# before/after values; a DELETE never is.
APPEND_ONLY_BUT_REDACTION = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND current_setting('cfp.redact_audit', true) = 'on'
           AND NEW.id = OLD.id AND NEW.created_at = OLD.created_at
           AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.action = OLD.action
           AND NEW.object_type = OLD.object_type
           AND NEW.object_id IS NOT DISTINCT FROM OLD.object_id THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'the audit log is append-only';
    END;
    $$ LANGUAGE plpgsql;
"""


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("proposal_sides") as batch:
        batch.add_column(sa.Column("pi_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("pi_name_original", sa.String(length=200), nullable=True))
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("decided_at", sa.DateTime(), nullable=True))
    # Proposals submitted before: the name their PI has now is the best record there is.
    op.execute("""
        UPDATE proposal_sides SET
            pi_name = (SELECT users.name FROM users WHERE users.id = proposal_sides.pi_user_id),
            pi_name_original = (SELECT users.name_original FROM users
                                WHERE users.id = proposal_sides.pi_user_id)
        WHERE pi_user_id IS NOT NULL AND proposal_id IN (
            SELECT id FROM proposals WHERE submitted_at IS NOT NULL OR pre_submitted_at IS NOT NULL)
    """)
    # Calls decided before: their last change is the closest known instant.
    op.execute("UPDATE calls SET decided_at = updated_at WHERE state IN ('decided', 'archived')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_BUT_REDACTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("decided_at")
    with op.batch_alter_table("proposal_sides") as batch:
        batch.drop_column("pi_name_original")
        batch.drop_column("pi_name")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("anonymised_at")
