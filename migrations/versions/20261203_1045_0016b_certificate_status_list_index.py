"""certificates: status list index (W3C Bitstring Status List), backfilled with the row id; partner provinces

Revision ID: 0016b
Revises: 0009
Create Date: 2026-12-03 10:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016b'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs (no batch): SQLite cannot recreate ``certificates`` while other tables reference it.
    op.add_column('certificates', sa.Column('status_list_index', sa.Integer(), nullable=True))
    # Existing certificates get the index new ones get: their row id (unique, never reused).
    op.execute("UPDATE certificates SET status_list_index = id WHERE status_list_index IS NULL")
    op.create_index(op.f('ix_certificates_status_list_index'), 'certificates', ['status_list_index'], unique=True)
    op.create_table('certificate_partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('base_url', sa.String(length=255), nullable=False),
    sa.Column('keys', sa.JSON(), nullable=False),
    sa.Column('agreement_note', sa.Text(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_certificate_partners_added_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_partners')),
    sa.UniqueConstraint('base_url', name=op.f('uq_certificate_partners_base_url'))
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM certificate_partners")).scalar():
        raise RuntimeError("certificate_partners holds partner provinces (their keys and agreements): downgrading "
                           "would drop them; remove them in the app first, or restore the backup instead")
    op.drop_table('certificate_partners')
    # The index is derived (the row id); dropping it loses nothing that cannot be rebuilt.
    op.drop_index(op.f('ix_certificates_status_list_index'), table_name='certificates')
    op.drop_column('certificates', 'status_list_index')
