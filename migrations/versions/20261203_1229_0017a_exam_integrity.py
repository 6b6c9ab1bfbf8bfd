"""exam integrity events and departure limit; course content frozen per class (issue 17)

- exam_attempt_events: what the exam page reported during an attempt (left the page, pasted …), once per seq;
- exams.max_departures: hand the attempt in after this many departures (empty: never);
- class_lessons + training_classes.lessons_frozen_at: a class's snapshot of its programme's required lessons;
  every existing class is frozen here with the lessons it counts today, so later catalogue edits reach later
  classes only; lessons.retired_at: a lesson retired from the catalogue, its records kept;
- video_watches, video_watch_sessions and the programme's video settings: study time checked on the server.
Downgrade refuses while anything would be lost: integrity events, a departure limit, a lesson pushed to a class
or retired, a class whose snapshot differs from the live catalogue, video study records or video settings.

Revision ID: 0017a_exam_integrity
Revises: 0018
Create Date: 2026-12-03 12:29:07.396120
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op


revision = '0017a_exam_integrity'
down_revision = '0018_tier_organisations'
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
    op.create_table('video_watch_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_beat_at', sa.DateTime(), nullable=False),
    sa.Column('credited_seconds', sa.Float(), nullable=False),
    sa.Column('check_due_at', sa.DateTime(), nullable=True),
    sa.Column('pending_code', sa.String(length=8), nullable=True),
    sa.Column('checks_asked', sa.Integer(), nullable=False),
    sa.Column('checks_passed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_video_watch_sessions_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_video_watch_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_watch_sessions')),
    sa.UniqueConstraint('token', name=op.f('uq_video_watch_sessions_token'))
    )
    with op.batch_alter_table('video_watch_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_watch_sessions_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_watch_sessions_user_id'), ['user_id'], unique=False)
    op.create_table('video_watches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('intervals', sa.JSON(), nullable=False),
    sa.Column('watched_seconds', sa.Float(), nullable=False),
    sa.Column('furthest', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_video_watches_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_video_watches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_watches')),
    sa.UniqueConstraint('lesson_id', 'user_id', name=op.f('uq_video_watches_lesson_id_user_id'))
    )
    with op.batch_alter_table('video_watches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_watches_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_watches_user_id'), ['user_id'], unique=False)
    op.add_column('programmes', sa.Column('video_done_pct', sa.Integer(), server_default='90', nullable=False))
    op.add_column('programmes', sa.Column('video_no_skip_ahead', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('programmes', sa.Column('video_check_minutes', sa.Integer(), nullable=True))
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
    watched = bind.execute(sa.text("SELECT count(*) FROM video_watches")).scalar()
    video_rules = bind.execute(sa.text(
        "SELECT count(*) FROM programmes WHERE video_done_pct <> 90 OR video_no_skip_ahead = :yes "
        "OR video_check_minutes IS NOT NULL"), {"yes": True}).scalar()
    if differs or retired or watched or video_rules:
        raise RuntimeError(f"downgrade of {revision} refused: {differs} lessons of class snapshots differ from the live "
                           f"catalogue, {retired} lessons are retired, {watched} video study records and "
                           f"{video_rules} programmes' video settings would be lost; restore the backup instead")
    for col in ("video_check_minutes", "video_no_skip_ahead", "video_done_pct"):
        op.execute(f"ALTER TABLE programmes DROP COLUMN {col}")
    for table in ("video_watches", "video_watch_sessions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_user_id'))
            batch_op.drop_index(batch_op.f(f'ix_{table}_lesson_id'))
        op.drop_table(table)
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
