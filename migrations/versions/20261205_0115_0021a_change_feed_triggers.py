"""Statement triggers that notify PostgreSQL's channel lms_changes of every change to certificates, talent_entries
and talent_sanctions (issue 20)

A server process keeps the public records it read for its next scans of the same certificates
(certificates.services.KeptRecords) only while nothing they were read from has changed; each process listens on the
channel (lms/changes.py). One trigger a table, FOR EACH STATEMENT: one notification a statement (PostgreSQL folds
identical notifications of one transaction into one), whatever the number of rows, so that the year-end roll-up's
bulk updates of talent_entries cost one call each. The SQL is lms/changes.py's, frozen here.

SQLite has no notifications: nothing is created there, and its processes keep no records.

Revision ID: 0021a
Revises: 0020t
Create Date: 2026-12-05 01:15:00
"""
from alembic import op


revision = '0021a'
down_revision = '0020t'
branch_labels = None
depends_on = None

TABLES = ("certificates", "talent_entries", "talent_sanctions")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE OR REPLACE FUNCTION lms_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN PERFORM pg_notify('lms_changes', TG_TABLE_NAME); RETURN NULL; END $$")
    for table in TABLES:
        op.execute(f'CREATE TRIGGER lms_changes_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
                   "FOR EACH STATEMENT EXECUTE FUNCTION lms_notify_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f'DROP TRIGGER IF EXISTS lms_changes_{table} ON "{table}"')
    op.execute("DROP FUNCTION IF EXISTS lms_notify_change()")
