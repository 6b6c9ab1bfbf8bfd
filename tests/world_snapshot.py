"""The `world` fixture's rows, built once per test module and then copied back (CI's time).

Building the world through the services (regions, institutions and their authorisations, enterprises, ten
accounts, two trainees with their pledges, and the audit events of all that) cost ~120 ms of CPU a test, in most
of the suite's tests. The first test of a module that asks for it still builds it through the services, exactly
as before; its rows are then read back, table by table, inside that test's transaction (which is rolled back as
always). The module's later tests insert those same rows (same ids, same encrypted fields' plaintext, the same
audit chain and head) into their own transaction and load the same objects by primary key.

Taken only from an empty database (else every test of the module builds, as before); a copy that does not fit
(an IntegrityError: rows some test committed) is undone to its savepoint and the world is built instead. Keyed by
module and the fixtures set up before `world`, so that a fixture that changes how the world is built gets its own.
"""
from __future__ import annotations

import dataclasses

from sqlalchemy import inspect, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.db import Base


@dataclasses.dataclass
class Snapshot:
    rows: list  # [(table, [row dicts])] in the metadata's dependency order, each table's rows by primary key
    objects: dict  # World field -> (mapped class, primary key identity)


_snapshots: dict = {}
# Fixtures that change nothing the world's build reads (the others a test sets up before `world` key their own).
NEUTRAL = frozenset({"request", "app", "db", "client", "world", "login_as", "tmp_dir", "database_url", "tmp_path",
                     "tmp_path_factory", "monkeypatch", "caplog", "capsys", "recwarn", "_dispose_app_engines"})


def _tables():
    return Base.metadata.sorted_tables


def _empty(session: Session) -> bool:
    row = session.connection().execute(select(*(select(1).select_from(t).exists() for t in _tables()))).one()
    return not any(row)


def _capture(session: Session, world) -> Snapshot:
    session.flush()
    conn = session.connection()
    rows = []
    for t in _tables():
        found = conn.execute(select(t).order_by(*t.primary_key.columns)).all()
        if found:
            rows.append((t, [{c.key: r._mapping[c] for c in t.columns} for r in found]))
    objects = {}
    for f in dataclasses.fields(world):
        obj = getattr(world, f.name)
        objects[f.name] = (type(obj), inspect(obj).identity)
    return Snapshot(rows, objects)


def _restore(session: Session, snap: Snapshot, world_cls):
    savepoint = session.begin_nested()
    try:
        conn = session.connection()
        for t, rows in snap.rows:
            conn.execute(insert(t), rows)
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    by_class: dict = {}
    for cls, ident in snap.objects.values():
        by_class.setdefault(cls, set()).add(ident[0])
    loaded = [session.scalars(select(cls).where(inspect(cls).primary_key[0].in_(ids))).all()
              for cls, ids in by_class.items()]  # one query a class (held: the identity map's references are weak)
    return world_cls(**{name: session.get(cls, ident) for name, (cls, ident) in snap.objects.items()})


def world(request, session: Session, world_cls):
    """The world of ``world_cls.build(session)``, built or copied back (see the module's docstring)."""
    names = request.fixturenames
    before = frozenset(names[:names.index("world")] if "world" in names else names) - NEUTRAL
    key = (request.node.nodeid.split("::")[0], before, str(session.connection().engine.url))
    snap = _snapshots.get(key)
    if snap is not None:
        w = _restore(session, snap, world_cls)
        if w is not None:
            return w
        return world_cls.build(session)
    empty = key not in _snapshots and _empty(session)
    w = world_cls.build(session)
    if empty:
        _snapshots[key] = _capture(session, w)
    else:
        _snapshots[key] = None
    return w
