"""the dashboard's continuing-education figures, kept per region and year (issue 20)

report_compliance_figures: a year's compliance of the pool members registered in each region (members held to
the rule, compliant, short of hours, without the report), written by the hourly job reports-compliance-figures;
the dashboard sums them over a region's subtree instead of reading 2,000,000 credit records on every view.

A new table only: the downgrade drops it (its rows are derived figures, recomputed by the job on upgrade).

Revision ID: 0020d
Revises: 0020b
Create Date: 2026-12-03 18:57:39.521905
"""
import sqlalchemy as sa
from alembic import op


revision = '0020d'
down_revision = '0020b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_compliance_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('compliant', sa.Integer(), nullable=False),
    sa.Column('hours_short', sa.Integer(), nullable=False),
    sa.Column('report_missing', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_report_compliance_figures_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_compliance_figures')),
    sa.UniqueConstraint('year', 'region_id', name=op.f('uq_report_compliance_figures_year_region_id'))
    )
    with op.batch_alter_table('report_compliance_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_compliance_figures_region_id'), ['region_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_compliance_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_compliance_figures_region_id'))

    op.drop_table('report_compliance_figures')
