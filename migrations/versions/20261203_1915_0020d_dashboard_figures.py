"""the dashboard's continuing-education figures, kept per region and year (issue 20)

report_compliance_figures: a year's compliance of the pool members registered in each region (members held to
the rule, compliant, short of hours, without the report), written by the job reports-dashboard-figures (every 15 minutes);
the dashboard sums them over a region's subtree instead of reading 2,000,000 credit records on every view.

report_count_figures: the dashboard's counts that grow with the people (trainees trained, assessed, passed and
certificates first issued per region, year and tier; today's pool entries and current certificates per region and
status), kept by the same job, so that a view reads a few hundred small rows instead of 57,000 enrolments,
50,000 certificates and 200,000 pool entries.

New tables only: the downgrade drops them (their rows are derived figures, recomputed by the job on upgrade).

Revision ID: 0020d
Revises: 0020p
Create Date: 2026-12-03 18:57:39.521905
"""
import sqlalchemy as sa
from alembic import op


revision = '0020d'
down_revision = '0020p'
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
    op.create_table('report_count_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('figure', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_report_count_figures_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_count_figures')),
    sa.UniqueConstraint('figure', 'year', 'region_id', 'key', name=op.f('uq_report_count_figures_figure_year_region_id_key'))
    )
    with op.batch_alter_table('report_count_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_count_figures_region_id'), ['region_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_count_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_count_figures_region_id'))
    op.drop_table('report_count_figures')
    with op.batch_alter_table('report_compliance_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_compliance_figures_region_id'))

    op.drop_table('report_compliance_figures')
