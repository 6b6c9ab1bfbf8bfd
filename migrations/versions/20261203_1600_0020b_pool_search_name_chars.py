"""the pool search finds names and filtered pages by index (issue 20)

- trainee_profiles gets a GIN index on the characters of real_name (string_to_array(real_name, NULL)),
  PostgreSQL only: the regulator's pool search ("part of a name") matched '%王%' by reading every profile
  (a sequential scan of 200,000 rows, 2.8 s with a county filter); names are two or three characters, too short
  for trigrams, so the search asks for rows holding all the query's characters (the index), then LIKE.
  SQLite keeps matching on the name index (ix_trainee_profiles_real_name).
- talent_entries gets (status, region_id, id), (highest_tier, region_id, id) and (stars, region_id, id): a page
  filtered by one of them and its capped count read that filter's range in list order (PostgreSQL scanned the
  whole pool for a rare status: 165 ms for none found).

Only an index: no data changes either way.

Revision ID: 0020b
Revises: 0015e
Create Date: 2026-12-03 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0020b'
down_revision = '0015e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_talent_entries_status_list', 'talent_entries', ['status', 'region_id', 'id'])
    op.create_index('ix_talent_entries_tier_list', 'talent_entries', ['highest_tier', 'region_id', 'id'])
    op.create_index('ix_talent_entries_stars_list', 'talent_entries', ['stars', 'region_id', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_trainee_profiles_name_chars', 'trainee_profiles',
                        [sa.text('string_to_array(real_name, NULL)')], postgresql_using='gin')


def downgrade():
    for name in ('ix_talent_entries_stars_list', 'ix_talent_entries_tier_list', 'ix_talent_entries_status_list'):
        op.drop_index(name, table_name='talent_entries')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_trainee_profiles_name_chars', table_name='trainee_profiles')
