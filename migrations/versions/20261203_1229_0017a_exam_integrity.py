"""exam integrity events and departure limit; course content frozen per class (issue 17)

- exam_attempt_events: what the exam page reported during an attempt (left the page, pasted …), once per seq;
- exams.max_departures: hand the attempt in after this many departures (empty: never);
- class_lessons + training_classes.lessons_frozen_at: a class's snapshot of its programme's required lessons;
  every existing class is frozen here with the lessons it counts today, so later catalogue edits reach later
  classes only; lessons.retired_at: a lesson retired from the catalogue, its records kept.
Downgrade refuses while anything would be lost: integrity events, a departure limit, a lesson pushed to a class
or retired, or a class whose snapshot differs from the live catalogue.

Revision ID: 0017a_exam_integrity
Revises: 0017
Create Date: 2026-12-03 12:29:07.396120
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op


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

    op.create_table('class_lessons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('pushed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_class_lessons_class_id_training_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_class_lessons_lesson_id_lessons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_lessons')),
    sa.UniqueConstraint('class_id', 'lesson_id', name=op.f('uq_class_lessons_class_id_lesson_id'))
    )
    with op.batch_alter_table('class_lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_lessons_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_class_lessons_lesson_id'), ['lesson_id'], unique=False)
    # ALTER TABLE … ADD COLUMN, not batch mode: SQLite would recreate tables that others reference.
    op.add_column('lessons', sa.Column('retired_at', sa.DateTime(), nullable=True))
    op.add_column('training_classes', sa.Column('lessons_frozen_at', sa.DateTime(), nullable=True))
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    op.get_bind().execute(sa.text(
        "INSERT INTO class_lessons (class_id, lesson_id, added_at, pushed) "
        "SELECT tc.id, l.id, :now, :no FROM training_classes tc "
        "JOIN programme_courses pc ON pc.programme_id = tc.programme_id "
        "JOIN courses c ON c.id = pc.course_id AND c.compulsory = :yes "
        "JOIN lessons l ON l.course_id = c.id"), {"now": now, "no": False, "yes": True})
    op.get_bind().execute(sa.text("UPDATE training_classes SET lessons_frozen_at = :now"), {"now": now})



def downgrade() -> None:
    bind = op.get_bind()
    events = bind.execute(sa.text("SELECT count(*) FROM exam_attempt_events")).scalar()
    limits = bind.execute(sa.text("SELECT count(*) FROM exams WHERE max_departures IS NOT NULL")).scalar()
    if events or limits:
        raise RuntimeError(f"downgrade of {revision} refused: {events} exam integrity events and {limits} exams "
                           "with a departure limit would be lost; restore the backup taken before the upgrade instead")
    live = ("SELECT tc.id AS class_id, l.id AS lesson_id FROM training_classes tc "
            "JOIN programme_courses pc ON pc.programme_id = tc.programme_id "
            "JOIN courses c ON c.id = pc.course_id AND c.compulsory = :yes JOIN lessons l ON l.course_id = c.id "
            "WHERE tc.lessons_frozen_at IS NOT NULL")
    kept = "SELECT class_id, lesson_id FROM class_lessons"
    differs = bind.execute(sa.text(
        f"SELECT (SELECT count(*) FROM ({kept} EXCEPT {live}) a) + (SELECT count(*) FROM ({live} EXCEPT {kept}) b)"),
        {"yes": True}).scalar()
    retired = bind.execute(sa.text("SELECT count(*) FROM lessons WHERE retired_at IS NOT NULL")).scalar()
    if differs or retired:
        raise RuntimeError(f"downgrade of {revision} refused: {differs} lessons of class snapshots differ from the live "
                           f"catalogue and {retired} lessons are retired; restore the backup taken before the upgrade")
    op.execute("ALTER TABLE training_classes DROP COLUMN lessons_frozen_at")
    op.execute("ALTER TABLE lessons DROP COLUMN retired_at")
    with op.batch_alter_table('class_lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_lessons_lesson_id'))
        batch_op.drop_index(batch_op.f('ix_class_lessons_class_id'))
    op.drop_table('class_lessons')
    # ALTER TABLE … DROP COLUMN, not batch mode: SQLite's batch mode recreates the table, which the foreign keys
    # to exams forbid.
    op.execute("ALTER TABLE exams DROP COLUMN max_departures")
    with op.batch_alter_table('exam_attempt_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_attempt_events_attempt_id'))
    op.drop_table('exam_attempt_events')
