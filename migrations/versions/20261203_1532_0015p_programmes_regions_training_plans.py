"""programmes per region and industry, training plans (issue 15)

- programmes.city_id / industry (nullable): a city's programme and an industry line's; the rule of one programme
  per province, tier and year lived only in code (courses.services.programmes) and is dropped there.
- province_plan_settings: whether cities may hold programmes, the fewest classes a city's plan lists.
- training_plans, training_plan_lines, training_plan_goals: a city's yearly plan; training_classes.plan_line_id.

Downgrade refuses while any plan, plan setting, or city/industry programme exists: the previous schema cannot
hold them, and dropping them would lose a bureau's plan.

Revision ID: 0015p
Revises: 0014c
Create Date: 2026-12-03 15:32:06
"""
import sqlalchemy as sa
from alembic import op

revision = '0015p'
down_revision = '0014c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('province_plan_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_id', sa.Integer(), nullable=False),
    sa.Column('city_programmes', sa.Boolean(), nullable=False),
    sa.Column('min_plan_classes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['province_id'], ['regions.id'], name=op.f('fk_province_plan_settings_province_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_province_plan_settings')),
    sa.UniqueConstraint('province_id', name=op.f('uq_province_plan_settings_province_id'))
    )
    op.create_table('training_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('syllabus', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', name='planstatus', native_enum=False, length=32), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['regions.id'], name=op.f('fk_training_plans_city_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_plans')),
    sa.UniqueConstraint('city_id', 'year', name=op.f('uq_training_plans_city_id_year'))
    )
    with op.batch_alter_table('training_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_plans_city_id'), ['city_id'], unique=False)

    op.create_table('training_plan_goals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('enterprises', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['regions.id'], name=op.f('fk_training_plan_goals_county_id_regions')),
    sa.ForeignKeyConstraint(['plan_id'], ['training_plans.id'], name=op.f('fk_training_plan_goals_plan_id_training_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_plan_goals')),
    sa.UniqueConstraint('plan_id', 'county_id', name=op.f('uq_training_plan_goals_plan_id_county_id'))
    )
    with op.batch_alter_table('training_plan_goals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_plan_goals_county_id'), ['county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_plan_goals_plan_id'), ['plan_id'], unique=False)

    op.create_table('training_plan_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('industry', sa.String(length=64), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=255), nullable=False),
    sa.Column('classes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['regions.id'], name=op.f('fk_training_plan_lines_county_id_regions')),
    sa.ForeignKeyConstraint(['plan_id'], ['training_plans.id'], name=op.f('fk_training_plan_lines_plan_id_training_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_plan_lines'))
    )
    with op.batch_alter_table('training_plan_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_plan_lines_plan_id'), ['plan_id'], unique=False)

    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('industry', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_programmes_city_id'), ['city_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_programmes_city_id_regions'), 'regions', ['city_id'], ['id'])

    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_line_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_training_classes_plan_line_id'), ['plan_line_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_training_classes_plan_line_id_training_plan_lines'), 'training_plan_lines', ['plan_line_id'], ['id'])



def downgrade() -> None:
    conn = op.get_bind()
    held = (conn.scalar(sa.text("SELECT count(*) FROM training_plans"))
            + conn.scalar(sa.text("SELECT count(*) FROM province_plan_settings"))
            + conn.scalar(sa.text("SELECT count(*) FROM programmes WHERE city_id IS NOT NULL OR industry IS NOT NULL")))
    if held:
        raise RuntimeError("0015p: training plans, plan settings or city/industry programmes exist and the previous "
                           "schema cannot hold them (nothing was changed); delete them first, or restore the backup "
                           "taken before the upgrade instead")
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_training_classes_plan_line_id_training_plan_lines'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_training_classes_plan_line_id'))
        batch_op.drop_column('plan_line_id')

    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_programmes_city_id_regions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_programmes_city_id'))
        batch_op.drop_column('industry')
        batch_op.drop_column('city_id')

    with op.batch_alter_table('training_plan_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_plan_lines_plan_id'))

    op.drop_table('training_plan_lines')
    with op.batch_alter_table('training_plan_goals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_plan_goals_plan_id'))
        batch_op.drop_index(batch_op.f('ix_training_plan_goals_county_id'))

    op.drop_table('training_plan_goals')
    with op.batch_alter_table('training_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_plans_city_id'))

    op.drop_table('training_plans')
    op.drop_table('province_plan_settings')
