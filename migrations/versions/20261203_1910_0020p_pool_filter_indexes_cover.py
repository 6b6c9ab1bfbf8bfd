"""the pool list's filter indexes cover the other filters (issue 20, SQLite pool search)

talent_entries' (status, region_id, id), (highest_tier, region_id, id) and (stars, region_id, id) from 0020b
gain the other filter columns after the list order: (status, region_id, id, highest_tier, stars, enterprise_id),
and likewise for the tier and the stars. A page filtered on two of them, and its capped count, are read from the
index alone: SQLite fetched every star-rated row to check its status (~65 ms a count at 200,000 people).

Only indexes: no data changes either way (the downgrade restores 0020b's narrower ones).

Revision ID: 0020p
Revises: 0020b
Create Date: 2026-12-03 19:10:00
"""
from alembic import op

revision = '0020p'
down_revision = '0020b'
branch_labels = None
depends_on = None

FILTERS = ('status', 'highest_tier', 'stars')
NAMES = {'status': 'ix_talent_entries_status_list', 'highest_tier': 'ix_talent_entries_tier_list',
         'stars': 'ix_talent_entries_stars_list'}


def upgrade():
    for col in FILTERS:
        op.drop_index(NAMES[col], table_name='talent_entries')
        rest = [c for c in FILTERS if c != col] + ['enterprise_id']
        op.create_index(NAMES[col], 'talent_entries', [col, 'region_id', 'id', *rest])


def downgrade():
    for col in FILTERS:
        op.drop_index(NAMES[col], table_name='talent_entries')
        op.create_index(NAMES[col], 'talent_entries', [col, 'region_id', 'id'])
