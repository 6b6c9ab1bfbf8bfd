"""audit chain and encrypted contact phones (issue 18)

- audit_events gain their place in the one hash chain (chain_seq, prev_hash, hash); the events stored before are
  chained here, in id order; audit_chain_head holds the chain's end, audit_anchors the daily anchors.
- The appointment's head and quality-head phones and the institution's contact phone are personal data: stored
  encrypted (Fernet, the app's FIELD_ENCRYPTION_KEY) from now on. What is stored is encrypted here; the key is the
  app's (lms.config: the environment or instance/secrets.json), or ``config.attributes["field_encryption_key"]``
  from a caller that runs the migration in-process. Downgrade decrypts, and refuses if it cannot.

Revision ID: 0017
Revises: 0015_setting_bases
Create Date: 2026-12-03 10:39:17.976206
"""
import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken

revision = '0017'
down_revision = '0015_setting_bases'
branch_labels = None
depends_on = None

PHONES = (("appointments", "enterprise_head_phone"), ("appointments", "quality_head_phone"),
          ("institutions", "contact_phone"))
GENESIS = "0" * 64


def _fernet(why: str, downgrade: bool = False) -> Fernet:
    """The app's field-encryption key: a caller's ``field_encryption_key``, else the key of the app configured in
    this process, else lms.config's (the environment, then instance/secrets.json)."""
    from lms import config as lms_config, pii  # the app's configuration, read at run time only

    key = op.get_context().config.attributes.get("field_encryption_key")
    if key:
        return Fernet(key)
    if pii.configured_key_fernet() is not None:
        return pii.configured_key_fernet()
    key = lms_config.load().get("FIELD_ENCRYPTION_KEY")
    if not key:
        tail = (" Or restore the backup taken before the upgrade instead." if downgrade else "")
        raise RuntimeError(f"FIELD_ENCRYPTION_KEY is not set: it is needed to {why}. Set it (or run "
                           f"`python -m lms.secrets init`) and run the migration again; nothing was changed.{tail}")
    return Fernet(key)


def _event_hash(seq, prev_hash, at, actor_id, action, object_type, object_id, detail, request_id) -> str:
    """A frozen copy of lms.auditchain.event_hash as of this revision."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    body = [seq, prev_hash, at.isoformat(timespec="microseconds"), actor_id, action or "", object_type or "",
            object_id or "", detail or {}, request_id or ""]
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _swap_column(table: str, column: str, new_type, values: dict) -> None:
    """Replace ``table.column`` by a NOT NULL column of ``new_type`` holding ``values`` (id → new value). On SQLite
    with its own ALTER TABLE (add, drop, rename column; 3.35+), not batch mode: batch mode rebuilds the table,
    and dropping ``institutions`` while other tables refer to it fails their foreign keys."""
    tmp = f"{column}_new"
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        sql_type = "BLOB" if isinstance(new_type, sa.LargeBinary) else f"VARCHAR({new_type.length})"
        empty = "x''" if isinstance(new_type, sa.LargeBinary) else "''"
        op.execute(f'ALTER TABLE "{table}" ADD COLUMN "{tmp}" {sql_type} NOT NULL DEFAULT {empty}')
    else:
        op.add_column(table, sa.Column(tmp, new_type, nullable=True))
    t = sa.table(table, sa.column("id", sa.Integer), sa.column(tmp, new_type))
    if values:
        op.get_bind().execute(t.update().where(t.c.id == sa.bindparam("_id")).values({tmp: sa.bindparam("_v")}),
                              [{"_id": k, "_v": v} for k, v in values.items()])
    if sqlite:
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        op.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{tmp}" TO "{column}"')
    else:
        op.drop_column(table, column)
        op.alter_column(table, tmp, new_column_name=column, existing_type=new_type, nullable=False)


def upgrade() -> None:
    op.create_table('audit_anchors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchors')),
    sa.UniqueConstraint('day', name=op.f('uq_audit_anchors_day'))
    )
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_chain_seq'), ['chain_seq'])

    # Chain the events stored so far, in id order.
    conn = op.get_bind()
    ev = sa.table("audit_events", sa.column("id", sa.Integer), sa.column("at", sa.DateTime),
                  sa.column("actor_id", sa.Integer), sa.column("action", sa.String),
                  sa.column("object_type", sa.String), sa.column("object_id", sa.String),
                  sa.column("detail", sa.JSON), sa.column("request_id", sa.String),
                  sa.column("chain_seq", sa.BigInteger), sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    seq, prev, updates = 0, GENESIS, []
    for row in conn.execute(sa.select(ev.c.id, ev.c.at, ev.c.actor_id, ev.c.action, ev.c.object_type,
                                      ev.c.object_id, ev.c.detail, ev.c.request_id).order_by(ev.c.id)):
        seq += 1
        digest = _event_hash(seq, prev, row.at, row.actor_id, row.action, row.object_type, row.object_id,
                             row.detail, row.request_id)
        updates.append({"_id": row.id, "_seq": seq, "_prev": prev, "_hash": digest})
        prev = digest
    if updates:
        conn.execute(ev.update().where(ev.c.id == sa.bindparam("_id")).values(
            chain_seq=sa.bindparam("_seq"), prev_hash=sa.bindparam("_prev"), hash=sa.bindparam("_hash")), updates)
    head = sa.table("audit_chain_head", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger),
                    sa.column("last_hash", sa.String))
    conn.execute(head.insert().values(id=1, seq=seq, last_hash=prev))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)

    # Encrypt the phones stored in clear.
    fernet = None
    for table, column in PHONES:
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.String))
        rows = conn.execute(sa.select(t.c.id, t.c[column])).all()
        if rows and fernet is None:
            fernet = _fernet(f"encrypt the phone numbers stored in {table}.{column}")
        _swap_column(table, column, sa.LargeBinary(),
                     {r.id: fernet.encrypt((r[1] or "").encode()) for r in rows})


def downgrade() -> None:
    conn = op.get_bind()
    fernet, plain = None, {}
    for table, column in PHONES:  # decrypt everything first: refuse before changing anything
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.LargeBinary))
        rows = conn.execute(sa.select(t.c.id, t.c[column])).all()
        if rows and fernet is None:
            fernet = _fernet(f"decrypt the phone numbers in {table}.{column} before storing them in clear", True)
        plain[(table, column)] = values = {}
        for r in rows:
            try:
                values[r.id] = fernet.decrypt(bytes(r[1])).decode() if r[1] is not None else ""
            except InvalidToken:
                raise RuntimeError(f"cannot decrypt {table}.{column} (id {r.id}) with this FIELD_ENCRYPTION_KEY: "
                                   "downgrade refused, nothing was changed; restore the backup taken before the upgrade "
                                   "instead.") from None
    for (table, column), values in plain.items():
        _swap_column(table, column, sa.String(length=32), values)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_chain_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('chain_seq')
    op.drop_table('audit_chain_head')
    op.drop_table('audit_anchors')
