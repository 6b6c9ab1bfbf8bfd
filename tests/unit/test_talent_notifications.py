"""In-app notifications, one per dedupe key, and an email when SMTP is configured."""
from lms.notifications import services
from lms.notifications.models import Notification
from lms.scoping import visible


class FakeSMTP:
    sent = []

    def __init__(self, host, port, timeout=None):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def send_message(self, msg):
        FakeSMTP.sent.append((self.host, msg["To"], msg["Subject"]))


def test_notify_dedupes_and_stays_private(db, world):
    a = services.notify(db, world.trainee.id, "x", "提醒", dedupe_key="k:2026-11-22")
    b = services.notify(db, world.trainee.id, "x", "提醒", dedupe_key="k:2026-11-22")
    assert a is not None and b is None and not a.emailed
    assert db.scalars(visible(Notification, world.trainee_fz)).all() == []
    assert services.unread_count(db, world.trainee.id) == 1
    services.mark_read(db, world.trainee)
    assert services.unread_count(db, world.trainee.id) == 0


def test_email_when_smtp_configured(db, world, app, monkeypatch):
    monkeypatch.setattr(services.smtplib, "SMTP", FakeSMTP)
    world.trainee.trainee_profile[0].email = "wf@example.com"
    db.flush()
    with app.app_context():
        n = services.notify(db, world.trainee.id, "x", "无邮件")
        assert not n.emailed and FakeSMTP.sent == []
        app.config.update(SMTP_HOST="smtp.example.com", MAIL_BACKEND="smtp")
        try:
            n = services.notify(db, world.trainee.id, "x", "有邮件", "正文")
            assert FakeSMTP.sent == []  # sent when the transaction commits, not before
            db.commit()
        finally:
            app.config.update(SMTP_HOST="", MAIL_BACKEND="none")
    db.refresh(n)
    assert n.emailed and FakeSMTP.sent == [("smtp.example.com", "wf@example.com", "有邮件")]


def test_mail_of_a_rolled_back_action_is_never_sent(db, world, app, monkeypatch):
    monkeypatch.setattr(services.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(FakeSMTP, "sent", [])
    world.trainee.trainee_profile[0].email = "wf@example.com"
    db.flush()
    app.config.update(SMTP_HOST="smtp.example.com", MAIL_BACKEND="smtp")
    try:
        with app.app_context():
            with db.begin_nested() as sp:  # an action refused half-way: its savepoint is rolled back
                services.notify(db, world.trainee.id, "x", "撤回的动作")
                sp.rollback()
            kept = services.notify(db, world.trainee.id, "x", "已提交的动作")
            db.commit()
    finally:
        app.config.update(SMTP_HOST="", MAIL_BACKEND="none")
    assert FakeSMTP.sent == [("smtp.example.com", "wf@example.com", "已提交的动作")]
    db.refresh(kept)
    assert kept.emailed


def test_mail_is_sent_on_commit_without_a_second_write(db, world, app, monkeypatch):
    """The after-commit hook only sends: a write there would wait on a lock an enclosing job's transaction may
    hold (SQLite: the demo seed inside a job session stalled 15 s and failed)."""
    from sqlalchemy import event

    monkeypatch.setattr(services.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(FakeSMTP, "sent", [])
    world.trainee.trainee_profile[0].email = "wf@example.com"
    db.flush()
    app.config.update(SMTP_HOST="smtp.example.com", MAIL_BACKEND="smtp")
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_a):
        seen.append(statement)

    try:
        with app.app_context():
            n = services.notify(db, world.trainee.id, "x", "提交即发")
        assert n.emailed and FakeSMTP.sent == []  # queued with the notification, sent on commit
        db.flush()  # the notification and its flag are written in the transaction itself
        engine = db.get_bind().engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            db.commit()
        finally:
            event.remove(engine, "before_cursor_execute", record)
    finally:
        app.config.update(SMTP_HOST="", MAIL_BACKEND="none")
    assert FakeSMTP.sent == [("smtp.example.com", "wf@example.com", "提交即发")]
    assert not [s for s in seen if "notifications" in s]  # committing wrote nothing more
