"""continuing education by seed 002 §4(3); the pool placed by the enterprise's region (issue 14, part A)

- province_rules.ce_either (report OR CE proof, seed 002's default) and first_year ("exempt": the year a person
  is certified or appointed is not held against them; "prorate").
- year_standings.held (held to the rule that year: in office, not the first year) and hours_ok (the prorated
  hours met); rows written before count as held, hours_ok copied from compliant (the next roll-up rewrites them).
- talent_entries.region_id becomes the region of the entry's enterprise (it was the class's region).

Downgrade drops the columns (held and hours_ok are recomputed by the roll-up; a province's ce_either = false is
the previous code's only rule, hours AND report) and refuses while a province prorates the first year, which
the previous schema cannot hold. The entries keep the enterprise's region.

Revision ID: 0018a
Revises: 0017
Create Date: 2026-12-03 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018a'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('province_rules') as batch:
        batch.add_column(sa.Column('ce_either', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column('first_year', sa.String(length=16), server_default='exempt', nullable=False))
    with op.batch_alter_table('year_standings') as batch:
        batch.add_column(sa.Column('held', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column('hours_ok', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE year_standings SET hours_ok = compliant")
    op.execute("UPDATE talent_entries SET region_id = (SELECT e.region_id FROM enterprises e WHERE e.id = "
               "talent_entries.enterprise_id) WHERE enterprise_id IS NOT NULL")


def downgrade():
    bind = op.get_bind()
    chosen = bind.execute(sa.text("SELECT count(*) FROM province_rules WHERE first_year <> 'exempt'")).scalar()
    if chosen:
        raise RuntimeError(f"{chosen} province rule(s) prorate the first year, which the previous schema cannot hold: "
                           "set them back to 'exempt' (seed 002's default) before downgrading")
    with op.batch_alter_table('year_standings') as batch:
        batch.drop_column('hours_ok')
        batch.drop_column('held')
    with op.batch_alter_table('province_rules') as batch:
        batch.drop_column('first_year')
        batch.drop_column('ce_either')
