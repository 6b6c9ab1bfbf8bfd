"""Public notices (公示): a bureau publishes a snapshot of its region's pool (names, masked ID numbers,
enterprise, tier, status) for objections; the public searches it by exact name or certificate number
(``talent.queries``)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Forbidden, ValidationFailed
from lms.people.models import TraineeProfile
from lms.pii import mask_id_number
from lms.scoping import visible
from talent.models import Notice, NoticeCertificate, NoticeEntry, PoolStatus, TalentEntry


def publish_notice(session: Session, actor: User, *, title: str, objection_days: int, contact: str,
                   today: dt.date) -> Notice:
    """Snapshot the pool of the actor's region (and below): names, masked IDs, enterprise, tier, status."""
    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以发布公示"))
    title = (title or "").strip()
    errors = {}
    if not title or len(title) > 128:
        errors["title"] = _("请填写标题（不超过 128 字）")
    if objection_days is None or not 5 <= objection_days <= 60:
        errors["objection_days"] = _("公示期须在 5 到 60 天之间")
    if errors:
        raise ValidationFailed(errors)
    notice = Notice(region_id=actor.region_id, title=title, published_on=today,
                    objection_until=today + dt.timedelta(days=objection_days), contact=(contact or "").strip()[:128],
                    published_by_id=actor.id)
    session.add(notice)
    session.flush()
    rows = session.execute(
        visible(TalentEntry, actor).add_columns(TraineeProfile.real_name, TraineeProfile.id_number)
        .join(TraineeProfile, TraineeProfile.user_id == TalentEntry.user_id)
        .where(TalentEntry.status != PoolStatus.exited)).all()
    n = 0
    for entry, name, idn in rows:
        certs = [c.number for c in entry.certificates if c.status == "valid"]
        ne = NoticeEntry(notice_id=notice.id, name=name, id_masked=mask_id_number(idn),
                         enterprise_name=entry.enterprise.name if entry.enterprise else "", region_name=entry.region.name,
                         tier=entry.highest_tier, certificate_numbers="、".join(certs)[:255], status=entry.status,
                         stars=entry.stars)
        session.add(ne)
        session.flush()
        for num in certs:
            session.add(NoticeCertificate(notice_entry_id=ne.id, number=num))
        n += 1
    session.flush()
    audit.record(session, actor, "notice.publish", notice, entries=n)
    return notice
