"""the file store (issue 21): storage_objects (every stored file's backend, size and checksums) and
storage_chunks (the 1 MiB pieces of the files kept in the database backend).

Downgrade refuses once any file is recorded (its checksums, and for the database backend its bytes, would be
lost) and says to restore the backup taken before the upgrade instead.

Revision ID: 0021
Revises: 0018b
Create Date: 2026-12-03 12:20:34.767227
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0018b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('storage_objects',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('piece_sha256', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_storage_objects'))
    )
    op.create_table('storage_chunks',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['key'], ['storage_objects.key'], name=op.f('fk_storage_chunks_key_storage_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'seq', name=op.f('pk_storage_chunks'))
    )


def downgrade() -> None:
    bind = op.get_bind()
    held = bind.scalar(sa.text("SELECT count(*) FROM storage_chunks"))
    recorded = bind.scalar(sa.text("SELECT count(*) FROM storage_objects"))
    if held or recorded:
        raise RuntimeError(
            f"downgrade refused: {recorded} stored file(s) have checksum records ({held} piece(s) of them kept in the "
            "database) that this revision's tables hold and the older schema cannot; restore the backup taken "
            "before the upgrade instead")
    op.drop_table('storage_chunks')
    op.drop_table('storage_objects')
