"""Last-seen and last-used times are written after the request, in a transaction of their own, so that a
reading request never writes (and on SQLite never upgrades its read transaction to a write)."""
import datetime as dt

from sqlalchemy import event, select, update

from lms.auth import services as auth_services
from lms.auth.models import ApiToken, UserSession
from lms.db import utcnow


def _writes_during(app, fn) -> list[str]:
    """The data-changing statements run while ``fn`` runs, with the write intent each ran under."""
    from lms.db import _write_intent

    engine = app.extensions["lms_db"].engine
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(f"{statement.split()[0]}:{statement.split()[1] if len(statement.split()) > 1 else ''}:"
                        f"{_write_intent.get()}")

    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def test_a_page_view_records_the_session_as_seen_after_the_request(app, client, db, login_as, world):
    login_as("nt_staff")
    sid = db.scalar(select(UserSession.id).where(UserSession.user_id == world.staff_nt.id, UserSession.ended_at.is_(None)))
    old = utcnow() - dt.timedelta(minutes=10)
    db.execute(update(UserSession).where(UserSession.id == sid).values(last_seen_at=old))
    db.commit()
    writes = _writes_during(app, lambda: client.get("/home"))
    db.expire_all()
    assert db.get(UserSession, sid).last_seen_at > old + dt.timedelta(minutes=9)
    # one UPDATE of the session, and only in a write transaction of its own (the GET itself reads)
    assert [w for w in writes if "user_sessions" in w] == ["UPDATE:user_sessions:True"]
    # within the granularity it is not written again
    assert not [w for w in _writes_during(app, lambda: client.get("/home")) if "user_sessions" in w]


def test_an_api_read_records_the_token_as_used_after_the_request(app, client, db, world):
    token, clear = auth_services.create_token(db, world.staff_nt, "test")
    db.commit()
    assert token.last_used_at is None
    writes = _writes_during(app, lambda: client.get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"}))
    db.expire_all()
    assert db.get(ApiToken, token.id).last_used_at is not None
    assert [w for w in writes if "api_tokens" in w] == ["UPDATE:api_tokens:True"]
