"""certificates.seal: the issuing server's seal on a certificate's signed part (issue 20)

A verification JSON with ``sig`` checks the Ed25519 signature of the part a scanner presents, ~100 µs of CPU, about
a third of a process's first scan of a certificate. The server that signs a part now stores a seal beside it
(HMAC-SHA256 under a key derived from the signing key itself: ``certificates/seal.py``), and a scan presenting the
very bytes sealed skips only the Ed25519 computation; the key's presence in the published document, its window and
the fields are still checked.

One nullable column, no data written: certificates issued before this revision have no seal and are checked in
full, as before, until ``flask cert-keys seal`` seals those whose signature checks. The downgrade drops the column
(the seals are derived data: nothing is lost).

Revision ID: 0020t
Revises: 0020s
Create Date: 2026-12-04 23:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0020t'
down_revision = '0020s'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('certificates', sa.Column('seal', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # In place (SQLite's ALTER TABLE … DROP COLUMN, as 0016b): a batch copy of certificates would break the foreign
    # keys that point at it.
    op.drop_column('certificates', 'seal')
