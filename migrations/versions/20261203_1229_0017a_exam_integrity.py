"""exam integrity events and departure limit (issue 17)

- exam_attempt_events: what the exam page reported during an attempt (left the page, pasted …), once per seq;
- exams.max_departures: hand the attempt in after this many departures (empty: never).
Downgrade refuses while any event is stored or any exam has a limit, rather than lose them.

Revision ID: 0017a_exam_integrity
Revises: 0017
Create Date: 2026-12-03 12:29:07.396120
"""
from alembic import op
import sqlalchemy as sa


revision = '0017a_exam_integrity'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exam_attempt_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('hidden', 'blur', 'paste', 'copy', 'fullscreen_exit', name='integrityeventkind', native_enum=False, length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['exam_attempts.id'], name=op.f('fk_exam_attempt_events_attempt_id_exam_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_attempt_events')),
    sa.UniqueConstraint('attempt_id', 'seq', name=op.f('uq_exam_attempt_events_attempt_id_seq'))
    )
    with op.batch_alter_table('exam_attempt_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_attempt_events_attempt_id'), ['attempt_id'], unique=False)

    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_departures', sa.Integer(), nullable=True))



def downgrade() -> None:
    bind = op.get_bind()
    events = bind.execute(sa.text("SELECT count(*) FROM exam_attempt_events")).scalar()
    limits = bind.execute(sa.text("SELECT count(*) FROM exams WHERE max_departures IS NOT NULL")).scalar()
    if events or limits:
        raise RuntimeError(f"downgrade of {revision} refused: {events} exam integrity events and {limits} exams "
                           "with a departure limit would be lost; restore the backup taken before the upgrade instead")
    # ALTER TABLE … DROP COLUMN, not batch mode: SQLite's batch mode recreates the table, which the foreign keys
    # to exams forbid.
    op.execute("ALTER TABLE exams DROP COLUMN max_departures")
    with op.batch_alter_table('exam_attempt_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_attempt_events_attempt_id'))
    op.drop_table('exam_attempt_events')
