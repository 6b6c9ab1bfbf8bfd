"""Issue 17: people are told — admitted / rejected with the reason, filing and results decisions to the
institution, certificate events to the holder — in the app, with a link, and by mail through the configured
sender (the demo's folder sender writes .eml files)."""
from __future__ import annotations

import datetime as dt
import email
from email import policy

import pytest
from sqlalchemy import select

from courses import enrolment
from lms.demo import PLEDGE_VERSION
from lms.errors import ValidationFailed
from lms.notifications import mail
from lms.notifications.models import Notification
from lms.templating import today_local
from reports.services import filing
from tests import factories
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401  (fixtures)
from tests.conftest import TODAY
from tests.report_factories import unfiled_class


@pytest.fixture
def mailbox(app, tmp_path, monkeypatch):
    """The folder sender on, into a fresh folder; returns a reader of the mails written."""
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "folder")
    monkeypatch.setitem(app.config, "MAIL_FOLDER", str(tmp_path / "mail"))

    def read() -> list:
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in sorted((tmp_path / "mail").glob("*.eml"))]
    with app.app_context():  # as in a request or a job: the links are built from the URL map
        yield read


def _notes(db, user_id: int, kind: str) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.user_id == user_id, Notification.kind == kind)
                           .order_by(Notification.id)))


def _accepted_class(db, world):
    klass = unfiled_class(db, world)
    filing.decide_filing(db, world.county_admin, filing.file_class(db, world.staff_nt, klass, today_local()), accept=True)
    return klass


def test_trainee_is_told_of_admission_and_of_rejection_with_its_reason(db, world, mailbox):
    klass = _accepted_class(db, world)
    a = factories.make_trainee(db, "notice_a", world.ent_qd)
    a.trainee_profile[0].email = "a@example.com"
    b = factories.make_trainee(db, "notice_b", world.ent_qd)
    now = dt.datetime.now(dt.timezone.utc)
    ea = enrolment.apply(db, a, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    eb = enrolment.apply(db, b, klass, pledge_version=PLEDGE_VERSION, today=today_local())
    enrolment.approve(db, world.staff_nt, ea, now)
    with pytest.raises(ValidationFailed) as exc:
        enrolment.reject(db, world.staff_nt, eb, "  ", now)
    assert exc.value.errors == {"reason": "请填写 2-500 字的不录取原因"}
    enrolment.reject(db, world.staff_nt, eb, "学历不符合本期要求", now)
    assert mailbox() == []  # nothing leaves before the transaction commits
    db.commit()
    db.expire_all()
    [admitted] = _notes(db, a.id, "enrollment")
    assert admitted.title == f"报名已录取：{klass.name}" and admitted.url == "/courses/my" and admitted.emailed
    [rejected] = _notes(db, b.id, "enrollment")
    assert rejected.title == f"报名未录取：{klass.name}" and rejected.body == "原因：学历不符合本期要求"
    assert not rejected.emailed  # no address known: in the app only
    [sent] = mailbox()
    assert sent["To"] == "a@example.com" and sent["Subject"] == admitted.title
    assert sent.get_content().rstrip().endswith("http://127.0.0.1:5000/courses/my")


def test_institution_is_told_when_its_filing_is_returned_with_the_reason(db, world, mailbox):
    klass = unfiled_class(db, world)
    f = filing.file_class(db, world.staff_nt, klass, today_local())
    filing.decide_filing(db, world.county_admin, f, accept=False, reason="课程表缺少授课教师")
    [note] = _notes(db, world.staff_nt.id, "class_filing")
    assert note.title == f"培训班报备被退回：{klass.name}"
    assert note.body.endswith("退回了报备，原因：课程表缺少授课教师")
    assert note.url == f"/reports/classes/{klass.id}/filing"
    assert _notes(db, world.staff_fj.id, "class_filing") == []  # another institution hears nothing


def test_holder_is_told_of_issue_and_revocation(db, world, cw, cert_cfg, completion_rule, mailbox):
    from certificates import services as cert_services

    completion_rule("test_ok")
    world.trainee.trainee_profile[0].email = "wf@example.com"
    cert = cert_services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    cert_services.revoke(db, world.city_admin, cert, "false_information", "提供虚假材料", TODAY)
    db.commit()
    issued, revoked = _notes(db, world.trainee.id, "certificate")
    assert issued.title == f"证书已颁发：{cert.number}" and issued.url == f"/certificates/{cert.id}"
    assert revoked.title == f"证书已撤销：{cert.number}" and "提供虚假材料" in revoked.body
    assert [m["Subject"] for m in mailbox() if m["Subject"].startswith("证书")] == [issued.title, revoked.title]


def test_trainee_notifications_mail_is_off_unless_configured(app):
    assert mail.sender_for({**app.config, "MAIL_BACKEND": "none"}) is None
    assert mail.sender_for({**app.config, "MAIL_BACKEND": "folder"}) is mail.SENDERS["folder"]
