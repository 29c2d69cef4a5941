"""Issue 5: joint selection, funding plan, meetings, minutes, projects

Revision ID: d5committee01
Revises: c4reviews0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "d5committee01"
down_revision = "c4reviews0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('selection_settings',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('score_method', sa.Enum('scale', 'minmax', 'zscore', 'raw', name='scoremethod', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_selection_settings_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_settings')),
    sa.UniqueConstraint('call_id', name=op.f('uq_selection_settings_call_id'))
    )
    op.create_table('year_envelopes',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_year_envelopes_amount_not_negative')),
    sa.CheckConstraint('year >= 1', name=op.f('ck_year_envelopes_positive_year')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_year_envelopes_agency_id_agencies')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_year_envelopes_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_year_envelopes')),
    sa.UniqueConstraint('call_id', 'agency_id', 'year', name=op.f('uq_year_envelopes_call_id_agency_id_year'))
    )
    op.create_table('tie_breaks',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('proposal_ids', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("reason <> ''", name=op.f('ck_tie_breaks_reason_given')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_tie_breaks_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_tie_breaks_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tie_breaks'))
    )
    with op.batch_alter_table('tie_breaks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tie_breaks_call_id'), ['call_id'], unique=False)
    op.create_table('trips_done',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('planned_trip_id', sa.Integer(), nullable=True),
    sa.Column('from_agency_id', sa.Integer(), nullable=False),
    sa.Column('to_agency_id', sa.Integer(), nullable=False),
    sa.Column('traveller', sa.String(length=200), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('days > 0', name=op.f('ck_trips_done_positive_days')),
    sa.CheckConstraint('year >= 1', name=op.f('ck_trips_done_positive_year')),
    sa.ForeignKeyConstraint(['from_agency_id'], ['agencies.id'], name=op.f('fk_trips_done_from_agency_id_agencies')),
    sa.ForeignKeyConstraint(['planned_trip_id'], ['mobility_trips.id'], name=op.f('fk_trips_done_planned_trip_id_mobility_trips'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_trips_done_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_trips_done_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['to_agency_id'], ['agencies.id'], name=op.f('fk_trips_done_to_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trips_done'))
    )
    with op.batch_alter_table('trips_done', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trips_done_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing_report', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.alter_column('standing_report', server_default=None)
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported_at_meeting_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_decisions_reported_at_meeting_id_meetings'), 'meetings', ['reported_at_meeting_id'], ['id'])


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_decisions_reported_at_meeting_id_meetings'), type_='foreignkey')
        batch_op.drop_column('reported_at_meeting_id')
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_column('standing_report')
    with op.batch_alter_table('trips_done', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trips_done_project_id'))
    op.drop_table('trips_done')
    with op.batch_alter_table('tie_breaks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tie_breaks_call_id'))
    op.drop_table('tie_breaks')
    op.drop_table('year_envelopes')
    op.drop_table('selection_settings')
