"""certificate validity is a province setting with none by default (issue 14, validity point)

- programmes.certificate_validity_years becomes nullable, no default: NULL means the province sets no validity.
- certificates.valid_until becomes nullable: NULL means no end date (长期有效); such a certificate never expires.

Existing values are kept (a programme's validity stays as the province entered it; certificates keep the end date
they were signed with). Downgrade refuses while any programme has no validity or any certificate has no end date:
the previous schema cannot hold either, and inventing a date would change what was signed.

Revision ID: 0014c
Revises: 0016p
Create Date: 2026-12-03 13:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014c'
down_revision = '0016p'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('programmes') as batch:
        batch.alter_column('certificate_validity_years', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('certificates') as batch:
        batch.alter_column('valid_until', existing_type=sa.Date(), nullable=True)


def downgrade():
    bind = op.get_bind()
    programmes = bind.execute(sa.text("SELECT count(*) FROM programmes WHERE certificate_validity_years IS NULL")).scalar()
    certificates = bind.execute(sa.text("SELECT count(*) FROM certificates WHERE valid_until IS NULL")).scalar()
    if programmes or certificates:
        raise RuntimeError(
            f"{programmes} programme(s) set no certificate validity and {certificates} certificate(s) have no end "
            "date (长期有效), which the previous schema cannot hold: give those programmes a validity and reissue "
            "those certificates (their end date is signed), or restore the backup taken before upgrading")
    with op.batch_alter_table('certificates') as batch:
        batch.alter_column('valid_until', existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table('programmes') as batch:
        batch.alter_column('certificate_validity_years', existing_type=sa.Integer(), nullable=False)
