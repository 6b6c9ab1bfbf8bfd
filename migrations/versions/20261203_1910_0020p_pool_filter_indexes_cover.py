"""the pool list's filter indexes cover the other filters; the names' characters for SQLite (issue 20)

talent_entries' (status, region_id, id), (highest_tier, region_id, id) and (stars, region_id, id) from 0020b
gain the other filter columns after the list order: (status, region_id, id, highest_tier, stars, enterprise_id),
and likewise for the tier and the stars. A page filtered on two of them, and its capped count, are read from the
index alone: SQLite fetched every star-rated row to check its status (~65 ms a count at 200,000 people).

trainee_name_chars (ch, user_id), WITHOUT ROWID: each character of each trainee's name, filled from the
profiles and kept by triggers on trainee_profiles — on SQLite, where "part of a name" read every name of the name
index (~25-60 ms at 200,000 people) and now reads the people holding the characters by primary key. On
PostgreSQL the table is created (one schema) and stays empty: the GIN index of 0020b finds names there.

No data changes: the downgrade restores 0020b's narrower indexes and drops the derived table and its triggers.

Revision ID: 0020p
Revises: 0020b
Create Date: 2026-12-03 19:10:00
"""
import sqlalchemy as sa
from alembic import op

# The triggers and the fill as the models declare them (frozen here: a revision never imports application code).
_POSITIONS = " UNION ALL ".join(f"SELECT {i} AS n" for i in range(1, 65))
_CHARS_OF_NEW = ("INSERT OR IGNORE INTO trainee_name_chars (ch, user_id) SELECT substr(NEW.real_name, p.n, 1), NEW.user_id "
                 f"FROM ({_POSITIONS}) AS p WHERE p.n <= length(NEW.real_name);")
TRIGGERS = {
    "trainee_name_chars_ins": f"AFTER INSERT ON trainee_profiles BEGIN {_CHARS_OF_NEW} END",
    "trainee_name_chars_upd": "AFTER UPDATE OF real_name ON trainee_profiles BEGIN "
                              f"DELETE FROM trainee_name_chars WHERE user_id = OLD.user_id; {_CHARS_OF_NEW} END",
    "trainee_name_chars_del": "AFTER DELETE ON trainee_profiles BEGIN "
                              "DELETE FROM trainee_name_chars WHERE user_id = OLD.user_id; END",
}
FILL = ("INSERT OR IGNORE INTO trainee_name_chars (ch, user_id) SELECT substr(t.real_name, p.n, 1), t.user_id "
        f"FROM trainee_profiles AS t JOIN ({_POSITIONS}) AS p ON p.n <= length(t.real_name)")

revision = '0020p'
down_revision = '0020b'
branch_labels = None
depends_on = None

FILTERS = ('status', 'highest_tier', 'stars')
NAMES = {'status': 'ix_talent_entries_status_list', 'highest_tier': 'ix_talent_entries_tier_list',
         'stars': 'ix_talent_entries_stars_list'}


def upgrade():
    op.create_table('trainee_name_chars', sa.Column('ch', sa.String(length=1), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('ch', 'user_id', name=op.f('pk_trainee_name_chars')),
                    sqlite_with_rowid=False)
    if op.get_bind().dialect.name == 'sqlite':
        for name, body in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        op.execute(FILL)
    for col in FILTERS:
        op.drop_index(NAMES[col], table_name='talent_entries')
        rest = [c for c in FILTERS if c != col] + ['enterprise_id']
        op.create_index(NAMES[col], 'talent_entries', [col, 'region_id', 'id', *rest])


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('trainee_name_chars')
    for col in FILTERS:
        op.drop_index(NAMES[col], table_name='talent_entries')
        op.create_index(NAMES[col], 'talent_entries', [col, 'region_id', 'id'])
