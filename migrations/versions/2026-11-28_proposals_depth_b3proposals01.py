"""Issue 3: proposal editor depth, documents, eligibility rules, two-stage calls

Revision ID: b3proposals01
Revises: a3c1accounts01
Create Date: 2026-11-28

Written by hand: per-side document limits on the call, an individual deadline
extension per proposal, and one document per kind per side of a proposal.
"""
import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "b3proposals01"
down_revision = "a3c1accounts01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call_sides", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_document_pages", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_document_bytes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("eligibility_rule_config", sa.JSON(), nullable=True))
        batch_op.create_check_constraint("positive_document_pages", "max_document_pages > 0")
        batch_op.create_check_constraint("positive_document_bytes", "max_document_bytes > 0")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_closes_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_extended_to", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("pre_submitted_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("proposal_sides", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pi_has_phd", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("institution_country", sa.String(length=100), nullable=True))

    with op.batch_alter_table("proposal_documents", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            op.f("uq_proposal_documents_proposal_id_agency_id_kind"), ["proposal_id", "agency_id", "kind"]
        )


def downgrade():
    # Columns of tables that other rows refer to (calls, proposals, proposal_sides) are
    # dropped in place (SQLite 3.35+): copying such a table fails with foreign keys on.
    in_place = op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35)
    mode = "never" if in_place else "auto"
    with op.batch_alter_table("proposal_documents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_proposal_documents_proposal_id_agency_id_kind"), type_="unique")

    with op.batch_alter_table("proposal_sides", schema=None, recreate=mode) as batch_op:
        batch_op.drop_column("institution_country")
        batch_op.drop_column("pi_has_phd")

    with op.batch_alter_table("proposals", schema=None, recreate=mode) as batch_op:
        batch_op.drop_column("pre_submitted_at")
        batch_op.drop_column("deadline_extended_to")

    with op.batch_alter_table("calls", schema=None, recreate=mode) as batch_op:
        batch_op.drop_column("full_closes_at")

    with op.batch_alter_table("call_sides", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_call_sides_positive_document_bytes"), type_="check")
        batch_op.drop_constraint(op.f("ck_call_sides_positive_document_pages"), type_="check")
        batch_op.drop_column("eligibility_rule_config")
        batch_op.drop_column("max_document_bytes")
        batch_op.drop_column("max_document_pages")
