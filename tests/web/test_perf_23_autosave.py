"""Issue 20 (branch i23a): the exam's autosave answered in front of Flask (``exams.fastpath``) with its two statements
kept compiled (``lms.rawsql.KeptReturning``). Counted, never timed: on SQLite a save made ~2,400 Python calls inside
the application before this round (~2,300 with the kept statements, the rest Flask's request around the view) and
makes ~1,270 now; PostgreSQL ~2,700 -> ~1,520. The answers are the view's byte for byte, and every refusal is
Flask's as before (the fast path hands the request over before any side effect)."""
import datetime as dt
import json

import pytest
from sqlalchemy import bindparam, event, func, insert, select, update

from exams import attempts
from exams.fastpath import SETTING
from exams.models import Answer, Attempt, AttemptStatus
from lms.auth.models import AuditEvent, User, UserSession
from lms.db import UTCDateTime
from lms.rawsql import KeptReturning
from tests.conftest import csrf_token, login
from tests.web.test_exams_autosave_signed_in import _login_session, _stored_seq, sitting  # noqa: F401
from tests.web.test_perf_exam_calls import TRANSACTION_CONTROL, Counted

SAVE_CALLS = {"sqlite": 1_500, "postgresql": 1_800}  # ~1,270 / ~1,520; ~2,400 / ~2,700 before (the view's path)


@pytest.fixture
def view_calls(app, monkeypatch):
    """How many requests reached the Flask view of the save (the fast path answers without it)."""
    calls = []
    view = app.view_functions["exams.save_answer"]

    def counted(*args, **kwargs):
        calls.append(1)
        return view(*args, **kwargs)

    counted.__dict__.update(view.__dict__)  # the declared body cap
    monkeypatch.setitem(app.view_functions, "exams.save_answer", counted)
    return calls


def _post(c, aid, body: bytes, token, content_type="application/json", base_url=None, **headers):
    extra = {"base_url": base_url} if base_url else {}
    return c.post(f"/exams/attempts/{aid}/answer", data=body, content_type=content_type, **extra,
                  headers={**({"X-CSRFToken": token} if token else {}), "Accept": "application/json", **headers})


def _body(aq, seq, selected=None) -> bytes:
    return json.dumps({"question": aq.id, "selected": aq.answer[:1] if selected is None else selected,
                       "seq": seq}).encode()


def _answer(resp) -> tuple:
    """Everything of an answer but its request id (a new one each request)."""
    return resp.status, [(k, v) for k, v in resp.headers.items() if k != "X-Request-ID"], resp.get_data()


def test_perf_23_save_calls_and_statements(app, db, world, sitting, view_calls):
    c, token, aid, aq = sitting
    dialect = db.get_bind().dialect.name
    assert _post(c, aid, _body(aq, 1), token).status_code == 200  # the process's first save: compiled once
    with Counted(app) as saves:
        for seq in range(2, 12):
            r = _post(c, aid, _body(aq, seq), token)
            assert r.status_code == 200 and r.json["saved"] and r.json["seq"] == seq, r.data[:300]
    assert view_calls == [], "the save went through Flask's view"
    assert saves.requests == 10 and saves.calls() < SAVE_CALLS[dialect], saves.calls()
    assert len(saves.sql) == 2 * 10, saves.sql  # the guard with the login in it, the upsert: nothing else
    assert all(s.lstrip().startswith(("UPDATE", "INSERT")) for s in saves.sql), saves.sql
    # Both kept compiled and run on the transaction's DB-API cursor: no SQLAlchemy execution context (``lms.rawsql``).
    contexts = []
    spy = lambda conn, cursor, statement, params, context, many: contexts.append(context)  # noqa: E731
    event.listen(saves.engine, "before_cursor_execute", spy)
    try:
        assert _post(c, aid, _body(aq, 12), token).json["saved"]
    finally:
        event.remove(saves.engine, "before_cursor_execute", spy)
    assert [ctx for ctx in contexts if ctx is not None and not TRANSACTION_CONTROL.match(ctx.statement)] == []
    assert contexts.count(None) == 2, contexts
    assert _stored_seq(db, aid, aq) == 12


def test_perf_23_fast_answers_are_the_views_byte_for_byte(app, db, world, sitting, view_calls, monkeypatch):
    """The same save answered by the fast path, then by the view (the setting off): the same status, headers (in
    order) and bytes; a stale save (a lower number) too, and a save that loses to a newer one."""
    c, token, aid, aq = sitting
    other = [o["id"] for o in aq.options if o["id"] not in aq.answer[:1]][:1]
    for body in (_body(aq, 3), _body(aq, 3), _body(aq, 2), _body(aq, 3, other)):
        monkeypatch.setitem(app.config, SETTING, True)
        fast = _post(c, aid, body, token)
        assert not view_calls
        monkeypatch.setitem(app.config, SETTING, False)
        flask = _post(c, aid, body, token)
        assert view_calls.pop() and _answer(fast) == _answer(flask), (_answer(fast), _answer(flask))
        assert fast.headers["X-Request-ID"] != flask.headers["X-Request-ID"]
    assert _stored_seq(db, aid, aq) == 3
    # The caller's request id, when well formed, is the answer's, as on every page.
    monkeypatch.setitem(app.config, SETTING, True)
    assert _post(c, aid, _body(aq, 4), token, **{"X-Request-ID": "a" * 32}).headers["X-Request-ID"] == "a" * 32
    assert not view_calls


def _refusal(app, db, world, sitting, case):
    """Set up ``case``; return the request to send: (client, body, token, content type, headers)."""
    c, token, aid, aq = sitting
    now = attempts.utcnow()
    cfg = app.config
    row = _login_session(db, world.trainee.id)
    args = [c, _body(aq, 1), token, "application/json", {}]
    if case == "no_login":
        args[0] = app.test_client()
    elif case in ("ended", "idle", "too_old"):
        values = {"ended": {"ended_at": now},
                  "idle": {"last_seen_at": now - dt.timedelta(seconds=cfg["SESSION_IDLE_SECONDS"] + 60)},
                  "too_old": {"created_at": now - dt.timedelta(seconds=cfg["SESSION_ABSOLUTE_SECONDS"] + 60)}}[case]
        db.execute(update(UserSession).where(UserSession.id == row.id).values(**values))
    elif case == "disabled":
        db.execute(update(User).where(User.id == world.trainee.id).values(is_enabled=False))
    elif case == "other_trainee":
        other = args[0] = app.test_client()
        login(other, "linfz")
        args[2] = csrf_token(other, "/exams/my")
    elif case == "staff":
        staff = args[0] = app.test_client()
        login(staff, "nt_staff")
        args[2] = csrf_token(staff, "/exams/manage")
    elif case == "closed":
        db.execute(update(Attempt).where(Attempt.id == aid).values(status=AttemptStatus.submitted))
    elif case == "past_deadline":
        db.execute(update(Attempt).where(Attempt.id == aid).values(deadline_at=now - dt.timedelta(minutes=5)))
    elif case == "bad_csrf":
        args[2] = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "no_csrf":
        args[2] = None
    elif case == "csrf_of_another_login":
        other = app.test_client()
        login(other, "linfz")
        args[2] = csrf_token(other, "/exams/my")
    elif case == "expired_csrf":
        cfg["WTF_CSRF_TIME_LIMIT"] = -1  # every token has expired (the test's app, set back by the test)
    elif case == "https_without_referrer":
        args[4] = {"base_url": "https://localhost"}
    elif case == "https_other_referrer":
        args[4] = {"base_url": "https://localhost", "headers": {"Referer": "https://elsewhere.example/exams"}}
    elif case == "not_json":
        args[1] = b"{question: 1"
    elif case == "not_an_object":
        args[1] = b"[1, 2]"
    elif case == "bad_seq":
        args[1] = _body(aq, 0)
    elif case == "bad_option":
        args[1] = _body(aq, 1, ["no-such-option"])
    elif case == "not_on_paper":
        args[1] = json.dumps({"question": 10**9, "selected": [], "seq": 1}).encode()
    elif case == "oversized":
        args[1] = json.dumps({"question": aq.id, "text": "质" * 40_000, "seq": 1}).encode()
    elif case == "form_body":
        args[1], args[3] = b"question=1&seq=1", "application/x-www-form-urlencoded"
    db.commit()
    return args


REFUSALS = {"no_login": (302, 400, 401), "ended": (302,), "idle": (302,), "too_old": (302,), "disabled": (302,),
            "other_trainee": (404,), "staff": (403,), "closed": (409,), "past_deadline": (409,), "bad_csrf": (400,),
            "no_csrf": (400,), "csrf_of_another_login": (400,), "expired_csrf": (400,), "https_without_referrer": (400,),
            "https_other_referrer": (400,), "not_json": (422,), "not_an_object": (422,), "bad_seq": (422,), "bad_option": (422,),
            "not_on_paper": (422,), "oversized": (413,), "form_body": (422,)}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_perf_23_every_refusal_is_flasks_as_before(app, db, world, sitting, view_calls, monkeypatch, case):
    """Each refusal answered with the fast path on is the view's answer with it off (status, JSON), nothing is
    stored, and what Flask logs or audits still happens (another trainee's attempt: the access_denied event)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", app.config["WTF_CSRF_TIME_LIMIT"])  # set back after
    c, body, token, ctype, options = _refusal(app, db, world, sitting, case)
    options = {"base_url": options.get("base_url"), **options.get("headers", {})}
    aid, aq = sitting[2], sitting[3]
    answers = []
    for on in (True, False):
        monkeypatch.setitem(app.config, SETTING, on)
        r = _post(c, aid, body, token, ctype, **options)
        data = dict(r.json, request_id=None) if r.is_json else None  # a new request id each request
        answers.append((r.status_code, r.headers.get("Location"), data))
    assert answers[0] == answers[1], answers
    assert answers[0][0] in REFUSALS[case], answers
    if case in ("ended", "idle", "too_old", "disabled"):
        assert "/auth/login" in answers[0][1]
    assert _stored_seq(db, aid, aq) is None
    if case == "other_trainee":
        assert db.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "access_denied", AuditEvent.object_type == "Attempt",
            AuditEvent.object_id == str(aid))) == 2  # once a request, fast path or not


def test_perf_23_what_the_fast_path_leaves_to_flask(app, db, world, sitting, view_calls, monkeypatch):
    """A save the fast path cannot answer exactly goes to Flask, which saves it as always: a permanent session
    (Flask sends the cookie back), a proxy's address without trusted proxies (Flask logs the warning), a body with
    a charset in its type, a trailing query string."""
    c, token, aid, aq = sitting
    assert _post(c, aid, _body(aq, 1), token, "application/json; charset=utf-8").json["saved"]
    assert len(view_calls) == 1
    r = c.post(f"/exams/attempts/{aid}/answer?x=1", data=_body(aq, 2), content_type="application/json",
               headers={"X-CSRFToken": token})
    assert r.json["saved"] and len(view_calls) == 2
    assert _post(c, aid, _body(aq, 3), token, **{"X-Forwarded-For": "10.0.0.1"}).json["saved"]
    assert len(view_calls) == 3
    with c.session_transaction() as s:
        s.permanent = True
    r = _post(c, aid, _body(aq, 4), token)
    assert r.json["saved"] and len(view_calls) == 4 and "Set-Cookie" in r.headers
    assert _stored_seq(db, aid, aq) == 4
    assert db.scalar(select(func.count(Answer.id)).where(Answer.attempt_id == aid)) == 1


def test_perf_23_over_https_with_the_sites_referrer(app, db, world, sitting, view_calls):
    """Over HTTPS Flask-WTF also wants a referrer of the same origin: with it, the fast path saves."""
    c, token, aid, aq = sitting
    r = _post(c, aid, _body(aq, 1), token, base_url="https://localhost", Referer=f"https://localhost/exams/attempts/{aid}")
    assert r.status_code == 200 and r.json["saved"] and not view_calls
    assert _stored_seq(db, aid, aq) == 1


def test_perf_23_last_seen_noted_when_due(app, db, world, sitting, view_calls):
    """The login's coarse last-seen time is written with the answer when due, on the fast path too."""
    c, token, aid, aq = sitting
    row = _login_session(db, world.trainee.id)
    due = attempts.utcnow() - dt.timedelta(minutes=30)
    db.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=due))
    db.commit()
    assert _post(c, aid, _body(aq, 1), token).json["saved"] and not view_calls
    db.expire_all()
    assert db.get(UserSession, row.id).last_seen_at > due + dt.timedelta(minutes=25)


def test_perf_23_kept_returning_keeps_constant_defaults_only(db):
    """``KeptReturning`` keeps a column's constant default with the statement (the upsert's ``grader_comment``) and
    refuses a computed one, whose value SQLAlchemy would compute per execution (``saved_at``'s ``utcnow``)."""
    dialect = db.get_bind().dialect
    table = Answer.__table__
    named = {"attempt_id": bindparam("aid"), "attempt_question_id": bindparam("qid"),
             "selected": bindparam("sel", type_=table.c.selected.type)}
    kept = KeptReturning(insert(table).values(**named, saved_at=bindparam("at", type_=UTCDateTime()))
                         .returning(table.c.id), dialect)
    assert (kept.fixed["grader_comment"], kept.fixed["text"], kept.fixed["seq"]) == ("", "", 0)
    assert {"aid", "qid", "sel", "at"} <= set(kept.binds)
    with pytest.raises(ValueError, match="saved_at"):
        KeptReturning(insert(table).values(**named).returning(table.c.id), dialect)
