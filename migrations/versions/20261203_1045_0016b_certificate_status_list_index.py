"""certificates: status list index (W3C Bitstring Status List), backfilled with the row id

Revision ID: 0016b
Revises: 0008
Create Date: 2026-12-03 10:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016b'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_list_index', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_status_list_index'), ['status_list_index'])
    # Existing certificates get the index new ones get: their row id (unique, never reused).
    op.execute("UPDATE certificates SET status_list_index = id WHERE status_list_index IS NULL")


def downgrade() -> None:
    # The index is derived (the row id); dropping it loses nothing that cannot be rebuilt.
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_certificates_status_list_index'), type_='unique')
        batch_op.drop_column('status_list_index')
