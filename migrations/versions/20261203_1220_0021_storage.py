"""the file store (issue 21): storage_objects (every stored file's backend, size and checksums) and
storage_chunks (the 1 MiB pieces of the files kept in the database backend).

Downgrade refuses while any file is kept in the database (its bytes would be lost): run
`flask files move --to local` first. The checksum rows of local files are dropped with the table; the files stay.

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-03 12:20:34.767227
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0017'
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
    held = op.get_bind().scalar(sa.text("SELECT count(*) FROM storage_chunks"))
    if held:
        raise RuntimeError(f"{held} piece(s) of stored files are kept in the database: run "
                           "`flask files move --to local` (and set FILE_STORAGE=local) before downgrading")
    op.drop_table('storage_chunks')
    op.drop_table('storage_objects')
