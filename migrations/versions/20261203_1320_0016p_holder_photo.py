"""the holder's photo on certificates, where the province enables it (issue 16)

- certificate_settings.holder_photo (off by default: a province's own choice, 本省自定);
- certificate_holder_photos: a trainee's re-encoded ID-style photo (a stored upload) and its fingerprint.

Certificates that printed a photo name its file and fingerprint in their snapshot (JSON, no column). Downgrade
refuses while any province enables the photo or any photo is kept (the previous schema cannot hold them:
dropping them would silently lose personal data the certificates refer to); otherwise it drops both.

Revision ID: 0016p
Revises: 0017a
Create Date: 2026-12-03 13:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016p'
down_revision = '0017a_exam_integrity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificate_settings') as batch:
        batch.add_column(sa.Column('holder_photo', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'certificate_holder_photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('stored_file_id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=32), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['stored_file_id'], ['stored_files.id'],
                                name=op.f('fk_certificate_holder_photos_stored_file_id_stored_files')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_certificate_holder_photos_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_holder_photos')),
        sa.UniqueConstraint('user_id', name=op.f('uq_certificate_holder_photos_user_id')),
    )


def downgrade():
    bind = op.get_bind()
    enabled = bind.execute(sa.text("SELECT count(*) FROM certificate_settings WHERE holder_photo")).scalar()
    kept = bind.execute(sa.text("SELECT count(*) FROM certificate_holder_photos")).scalar()
    if enabled or kept:
        raise RuntimeError(f"{enabled} province(s) print the holder's photo and {kept} photo(s) are kept, which the "
                           "previous schema cannot hold: turn the setting off and delete the photos first")
    op.drop_table('certificate_holder_photos')
    with op.batch_alter_table('certificate_settings') as batch:
        batch.drop_column('holder_photo')
