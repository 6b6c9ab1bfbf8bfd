"""drop the (year, user_id) index on year_standings, which no query needs (issue 20)

The roll-up reads and upserts one year's standings a range of people at a time (user_id > lo AND user_id <= hi AND
year = y) and the pool's page reads a person's years: the unique (user_id, year) index answers both, on SQLite and
PostgreSQL (EXPLAIN; tests/unit/test_perf_rollup.py checks every chunk statement's plan). The (year, user_id) index
beside it was a third index every upsert of the roll-up maintained (PostgreSQL's slowest write of the roll-up was
that upsert).

An index only: the downgrade creates it again, no data is touched.

Revision ID: 0020s
Revises: 0020r
Create Date: 2026-12-04 00:53:21
"""
from alembic import op


revision = '0020s'
down_revision = '0020r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_year_standings_year_user_id', table_name='year_standings')


def downgrade() -> None:
    op.create_index('ix_year_standings_year_user_id', 'year_standings', ['year', 'user_id'], unique=False)
