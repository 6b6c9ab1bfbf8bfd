"""an index on appointments (status, user_id, appointed_on, ended_on) for the roll-up's chunks (issue 20)

The year-end roll-up reads each chunk's accepted appointments (status = accepted and user_id in the chunk's range,
with their dates). Without statistics SQLite used the single-column status index for that and read every accepted
appointment of the province for each chunk (179 s at full scale instead of a few seconds); this index answers the
chunk's read alone, on both databases.

An index only: the downgrade drops it, no data is touched.

Revision ID: 0020r
Revises: 0020d
Create Date: 2026-12-03 20:30:00
"""
from alembic import op


revision = '0020r'
down_revision = '0020d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_appointments_status_user', 'appointments', ['status', 'user_id', 'appointed_on', 'ended_on', 'enterprise_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_appointments_status_user', table_name='appointments')
