"""The daily reminders to pool members: hours behind schedule, the annual report due, a change registration due."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credits import queries as credits
from credits.models import AnnualReport, CreditRecord, ProvinceRule
from lms.notifications.services import notify
from talent.models import PoolStatus, TalentEntry


def send_reminders(session: Session, today: dt.date) -> dict:
    """Daily reminders: credits behind schedule, report due, change registration due. One per kind per person
    per day (the notification's dedupe key carries the date)."""
    counts = {"credits": 0, "report": 0, "registration": 0}
    rows = session.execute(select(TalentEntry.user_id, TalentEntry.province_id, TalentEntry.registration_due_on)
                           .where(TalentEntry.status != PoolStatus.exited)).all()
    if not rows:
        return counts
    year = today.year
    uids = [r[0] for r in rows]
    hours = dict(session.execute(select(CreditRecord.user_id, func.sum(CreditRecord.hours))
                                 .where(CreditRecord.year == year, CreditRecord.user_id.in_(uids)).group_by(CreditRecord.user_id)).all())
    filed = set(session.scalars(select(AnnualReport.user_id).where(AnnualReport.year == year, AnnualReport.user_id.in_(uids))))
    rules = {r.province_id: r for r in session.scalars(select(ProvinceRule))}
    fraction = (today.timetuple().tm_yday) / (366 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 365)
    for uid, pid, due in rows:
        rule = rules.get(pid) or credits.rule_for(session, None)
        have = float(hours.get(uid) or 0)
        if have < rule.required_hours * fraction and today.month >= 3:
            if notify(session, uid, "ce_behind", _("继续教育学时进度落后"),
                      _("%(y)d 年度已获 %(h)s 学时，要求 %(r)d 学时。", y=year, h=f"{have:g}", r=rule.required_hours),
                      dedupe_key=f"ce_behind:{today.isoformat()}"):
                counts["credits"] += 1
        report_window = (dt.date(year, rule.report_due_month, 1) - today).days <= 30
        if rule.report_required and uid not in filed and report_window:
            if notify(session, uid, "report_due", _("请提交年度履职报告"), _("%(y)d 年度履职报告尚未提交。", y=year),
                      dedupe_key=f"report_due:{today.isoformat()}"):
                counts["report"] += 1
        if due is not None and due >= today:
            if notify(session, uid, "registration_due", _("请办理首席质量官变更登记"),
                      _("请于 %(d)s 前提交变更登记。", d=due.isoformat()), dedupe_key=f"registration_due:{today.isoformat()}"):
                counts["registration"] += 1
    return counts
