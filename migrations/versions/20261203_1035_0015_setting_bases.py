"""setting bases: where each province setting comes from (issue 15: a source, 本省自定 or 示例 next to every value)

Revision ID: 0015_setting_bases
Revises: 0016b
Create Date: 2026-12-03 10:35:02.386727
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_setting_bases'
down_revision = '0016b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('setting_bases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('source', 'province', 'example', name='basiskind', native_enum=False, length=32), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setting_bases')),
    sa.UniqueConstraint('subject', 'field', name=op.f('uq_setting_bases_subject_field'))
    )
    with op.batch_alter_table('setting_bases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_setting_bases_subject'), ['subject'], unique=False)



def downgrade() -> None:
    # A downgrade keeps the data or refuses: the bases a province recorded would be lost.
    n = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM setting_bases")).scalar()
    if n:
        raise RuntimeError(f"downgrade of {revision} refused: setting_bases holds {n} recorded bases of province "
                           "settings; restore the backup taken before the upgrade instead")
    with op.batch_alter_table('setting_bases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_setting_bases_subject'))

    op.drop_table('setting_bases')
