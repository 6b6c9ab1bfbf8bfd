"""Tier organisation per province (issue 15): which level of bureau runs, files and certifies each tier,
and which tier is a prerequisite of which. No rows means the example default (county/city/province).

Revision ID: 0018_tier_organisations
Revises: 0021
Create Date: 2026-12-03 12:37:12.734115
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_tier_organisations'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tier_organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Enum('basic', 'advanced', 'senior', name='tier', native_enum=False, length=32), nullable=False),
    sa.Column('bureau_level', sa.Enum('province', 'city', 'county', name='regionlevel', native_enum=False, length=32), nullable=False),
    sa.Column('prerequisite', sa.Enum('basic', 'advanced', 'senior', name='tier', native_enum=False, length=32), nullable=True),
    sa.ForeignKeyConstraint(['province_id'], ['regions.id'], name=op.f('fk_tier_organisations_province_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_organisations')),
    sa.UniqueConstraint('province_id', 'tier', name=op.f('uq_tier_organisations_province_id_tier'))
    )
    with op.batch_alter_table('tier_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tier_organisations_province_id'), ['province_id'], unique=False)


def downgrade() -> None:
    """Keeps the data or refuses: a province's tier set-up would be lost with the table."""
    n = op.get_bind().execute(sa.text("SELECT count(*) FROM tier_organisations")).scalar()
    if n:
        raise RuntimeError(f"downgrade of {revision} refused: it would drop rows ({{'tier_organisations': {n}}}); "
                           "restore the backup taken before the upgrade instead")
    with op.batch_alter_table('tier_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tier_organisations_province_id'))
    op.drop_table('tier_organisations')
