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
    # Plain ALTERs (no batch): SQLite cannot recreate ``certificates`` while other tables reference it.
    op.add_column('certificates', sa.Column('status_list_index', sa.Integer(), nullable=True))
    # Existing certificates get the index new ones get: their row id (unique, never reused).
    op.execute("UPDATE certificates SET status_list_index = id WHERE status_list_index IS NULL")
    op.create_index(op.f('ix_certificates_status_list_index'), 'certificates', ['status_list_index'], unique=True)


def downgrade() -> None:
    # The index is derived (the row id); dropping it loses nothing that cannot be rebuilt.
    op.drop_index(op.f('ix_certificates_status_list_index'), table_name='certificates')
    op.drop_column('certificates', 'status_list_index')
