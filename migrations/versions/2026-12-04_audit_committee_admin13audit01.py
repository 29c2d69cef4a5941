"""Issue 13: each audit entry belongs to the Joint Committee of the object it names (NULL:
installation-wide, read by administrators only); entries written before are given theirs
where the object still exists.

Revision ID: admin13audit01
Revises: f16assign01
Create Date: 2026-12-04
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "admin13audit01"
down_revision = "f16assign01"
branch_labels = None
depends_on = None

# The committee of an object, by its kind: SQL giving the committee id of the row whose id
# is audit_entries.object_id (the same paths as cfp.core.audit.committee_of).
THROUGH_CALL = "SELECT calls.committee_id FROM {table} JOIN calls ON calls.id = {table}.call_id WHERE {table}.id = audit_entries.object_id"
THROUGH_PROPOSAL = ("SELECT calls.committee_id FROM {table} JOIN proposals ON proposals.id = {table}.proposal_id "
                    "JOIN calls ON calls.id = proposals.call_id WHERE {table}.id = audit_entries.object_id")
COMMITTEE_OF = {
    "JointCommittee": "SELECT joint_committees.id FROM joint_committees WHERE joint_committees.id = audit_entries.object_id",
    "Call": "SELECT calls.committee_id FROM calls WHERE calls.id = audit_entries.object_id",
    "Meeting": "SELECT meetings.committee_id FROM meetings WHERE meetings.id = audit_entries.object_id",
    "Decision": "SELECT decisions.committee_id FROM decisions WHERE decisions.id = audit_entries.object_id",
    "CallSide": THROUGH_CALL.format(table="call_sides"),
    "CallAmendment": THROUGH_CALL.format(table="call_amendments"),
    "TieBreak": THROUGH_CALL.format(table="tie_breaks"),
    "ProjectList": THROUGH_CALL.format(table="project_lists"),
    "OutboxMessage": THROUGH_CALL.format(table="outbox_messages"),
    "Proposal": ("SELECT calls.committee_id FROM proposals JOIN calls ON calls.id = proposals.call_id "
                 "WHERE proposals.id = audit_entries.object_id"),
    "EligibilityCheck": THROUGH_PROPOSAL.format(table="eligibility_checks"),
    "Assignment": THROUGH_PROPOSAL.format(table="assignments"),
    "Project": THROUGH_PROPOSAL.format(table="projects"),
    "Review": ("SELECT calls.committee_id FROM reviews JOIN assignments ON assignments.id = reviews.assignment_id "
               "JOIN proposals ON proposals.id = assignments.proposal_id JOIN calls ON calls.id = proposals.call_id "
               "WHERE reviews.id = audit_entries.object_id"),
}


# The redaction of a deleted account's address (cfp/auth/deletion.py) may change an
# entry's before/after values, and now still nothing else: not its committee either.
APPEND_ONLY_BUT_REDACTION = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND current_setting('cfp.redact_audit', true) = 'on'
           AND NEW.id = OLD.id AND NEW.created_at = OLD.created_at
           AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.action = OLD.action
           AND NEW.object_type = OLD.object_type
           AND NEW.object_id IS NOT DISTINCT FROM OLD.object_id
           AND NEW.committee_id IS NOT DISTINCT FROM OLD.committee_id THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'the audit log is append-only';
    END;
    $$ LANGUAGE plpgsql;
"""
PREVIOUS_APPEND_ONLY_BUT_REDACTION = APPEND_ONLY_BUT_REDACTION.replace(
    "\n           AND NEW.committee_id IS NOT DISTINCT FROM OLD.committee_id", "")


def upgrade():
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("committee_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_audit_entries_committee_id"), ["committee_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_audit_entries_committee_id_joint_committees"),
                                 "joint_committees", ["committee_id"], ["id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # the log is append-only: the migration alone fills the new column
        op.execute("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
    for object_type, committee in COMMITTEE_OF.items():
        op.execute(sa.text(f"UPDATE audit_entries SET committee_id = ({committee}) "
                           "WHERE object_type = :type AND object_id IS NOT NULL").bindparams(type=object_type))
    _backfill_jobs()
    if postgres:
        op.execute("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")
        op.execute(APPEND_ONLY_BUT_REDACTION)


def _backfill_jobs():
    """A job names its call in its parameters (JSON, read here rather than in SQL)."""
    bind = op.get_bind()
    jobs = bind.execute(sa.text(
        "SELECT jobs.id, jobs.params FROM jobs WHERE jobs.id IN "
        "(SELECT object_id FROM audit_entries WHERE object_type = 'Job')")).all()
    for job_id, params in jobs:
        if isinstance(params, str):
            params = json.loads(params)
        call_id = (params or {}).get("call_id")
        if not isinstance(call_id, int):
            continue
        bind.execute(sa.text(
            "UPDATE audit_entries SET committee_id = (SELECT committee_id FROM calls WHERE id = :call) "
            "WHERE object_type = 'Job' AND object_id = :job"), {"call": call_id, "job": job_id})


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_APPEND_ONLY_BUT_REDACTION)
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_constraint(batch.f("fk_audit_entries_committee_id_joint_committees"), type_="foreignkey")
        batch.drop_index(batch.f("ix_audit_entries_committee_id"))
        batch.drop_column("committee_id")
