"""The daily reminders, before the deadline and never after it (issue 14: 「the CQO and the enterprise are reminded
of the report or CE proof due, the change registration due, and the objection period」): the year's performance
report or CE proof due (seed 002 四(三)「首席质量官在任期内应按规定递交年度质量管理绩效报告或继续教育证明」) to the
CQO and their enterprise's accounts; a change registration due (seed 002 四(三)「企业重新聘用首席质量官，应当在聘用后
一个月内……变更」) to the CQO and the new enterprise's accounts; a notice's objection period ending with objections
still open, to the publishing bureau. Each reminder is a platform notification whose dedupe key names the deadline
and the step (never the day), so that a job run twice, or on a frozen clock, sends nothing twice."""
from __future__ import annotations

import calendar
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credits import queries as credits
from credits.models import ProvinceRule
from lms.auth.models import User
from lms.domain import Role
from lms.notifications.services import link, notify
from lms.people.models import TraineeProfile
from lms.settingbasis import basis_label
from talent.models import Notice, NoticeObjection, ObjectionStatus, PoolStatus, TalentEntry
from talent.services.standing import _standings_select

# Days before the year's due date at which a CQO held to the rule and not yet meeting it is reminded (示例: no
# seed sets them): at most one reminder per step, the last a week before.
CE_REMINDER_DAYS = (60, 30, 7)
# Days before a change registration is due (示例: seed 002 gives the month, not the reminders; with its month the
# first goes out the day the change is detected) and before a notice's objection period ends (示例).
REGISTRATION_REMINDER_DAYS = (30, 7, 1)
OBJECTION_REMINDER_DAYS = (3, 1)


def ce_due_date(rule: ProvinceRule, year: int) -> dt.date:
    """The day the year's report or CE proof is due: the last day of the province's report month."""
    return dt.date(year, rule.report_due_month, calendar.monthrange(year, rule.report_due_month)[1])


def _step(today: dt.date, due: dt.date, days=CE_REMINDER_DAYS) -> int | None:
    """The reminder step ``today`` falls in (the smallest of ``days`` not before it), None outside."""
    left = (due - today).days
    if left < 0:
        return None
    steps = [d for d in days if left <= d]
    return min(steps) if steps else None


def _enterprise_accounts(session: Session, enterprise_ids) -> dict[int, list[int]]:
    """The enabled accounts of each enterprise (Role.enterprise), by enterprise id."""
    ids = {e for e in enterprise_ids if e}
    out: dict[int, list[int]] = {}
    if ids:
        for uid, ent in session.execute(select(User.id, User.enterprise_id).where(
                User.role == Role.enterprise, User.is_enabled.is_(True), User.enterprise_id.in_(ids)).order_by(User.id)):
            out.setdefault(ent, []).append(uid)
    return out


def remind_ce_due(session: Session, today: dt.date) -> int:
    """Remind every CQO held to this year's rule (in office, past the first year: ``standing``'s one rule) who
    has not met it yet — neither report nor CE proof by seed 002's default — at each step before the due date,
    and the accounts of their enterprise (one message per CQO and step). Returns the CQOs reminded."""
    year, n = today.year, 0
    rules = {r.province_id: r for r in session.scalars(select(ProvinceRule))}
    st = _standings_select(session, year).subquery()
    rows = session.execute(select(st.c.user_id, st.c.total, st.c.filed, st.c.hours_ok, TalentEntry.province_id,
                                  TalentEntry.enterprise_id, TraineeProfile.real_name)
                           .join(TalentEntry, TalentEntry.id == st.c.entry_id)
                           .outerjoin(TraineeProfile, TraineeProfile.user_id == st.c.user_id)
                           .where(st.c.held.is_(True), st.c.met.is_(False))).all()
    accounts = _enterprise_accounts(session, [r.enterprise_id for r in rows])
    labels: dict[int, str] = {}
    for uid, total, filed, hours_ok, province_id, ent_id, name in rows:
        rule = rules.get(province_id) or credits.rule_for(session, None)
        due = ce_due_date(rule, year)
        step = _step(today, due)
        if step is None:
            continue
        have = f"{float(total or 0):g}"
        if rule.ce_either:
            body = _("请于 %(d)s 前递交 %(y)d 年度质量管理绩效报告或继续教育证明（已获 %(h)s 学时，本省要求 %(r)d 学时）。",
                     d=due.isoformat(), y=year, h=have, r=rule.required_hours)
        elif hours_ok:
            body = _("请于 %(d)s 前提交 %(y)d 年度履职报告。", d=due.isoformat(), y=year)
        else:
            body = _("请于 %(d)s 前完成 %(y)d 年度继续教育（已获 %(h)s 学时，本省要求 %(r)d 学时）%(rep)s。", d=due.isoformat(),
                     y=year, h=have, r=rule.required_hours,
                     rep=_("并提交年度履职报告") if rule.report_required and not filed else "")
        if province_id not in labels:  # one lookup per province, not per person
            labels[province_id] = basis_label(session, rule, "required_hours")
        body += labels[province_id]  # the hours and the due month: the rule's basis
        if notify(session, uid, "ce_due", _("年度绩效报告或继续教育证明即将到期"), body, url="/credits/",
                  dedupe_key=f"ce_due:{year}:{step}"):
            n += 1
        for account in accounts.get(ent_id, []):
            notify(session, account, "ce_due", _("本企业首席质量官的年度绩效报告或继续教育证明即将到期"),
                   _("首席质量官 %(n)s 应于 %(d)s 前递交 %(y)d 年度质量管理绩效报告或继续教育证明，目前尚未递交。",
                     n=name or "", d=due.isoformat(), y=year),
                   dedupe_key=f"ce_due:{year}:{step}:{uid}")
    return n


def remind_registration_due(session: Session, today: dt.date) -> int:
    """A change registration due (``TalentEntry.registration_due_on``, set when the CQO's enterprise changed):
    the CQO and the new enterprise's accounts, at each step of ``REGISTRATION_REMINDER_DAYS`` before the due day,
    once each, none after it. Returns the CQOs reminded."""
    rows = session.execute(select(TalentEntry.user_id, TalentEntry.registration_due_on, TraineeProfile.enterprise_id,
                                  TraineeProfile.real_name, TalentEntry.province_id)
                           .outerjoin(TraineeProfile, TraineeProfile.user_id == TalentEntry.user_id)
                           .where(TalentEntry.status != PoolStatus.exited, TalentEntry.registration_due_on >= today)).all()
    accounts = _enterprise_accounts(session, [r.enterprise_id for r in rows])
    rules = {r.province_id: r for r in session.scalars(select(ProvinceRule))}
    labels: dict[int, str] = {}
    n = 0
    for uid, due, ent_id, name, province_id in rows:
        step = _step(today, due, REGISTRATION_REMINDER_DAYS)
        if step is None:
            continue
        key = f"registration_due:{due.isoformat()}:{step}"
        # The period the due date counts is the province's change_registration_days: labelled with its basis.
        if province_id not in labels:  # one lookup per province, not per person
            labels[province_id] = basis_label(session, rules.get(province_id) or credits.rule_for(session, None),
                                              "change_registration_days")
        label = labels[province_id]
        if notify(session, uid, "registration_due", _("请办理首席质量官变更登记"),
                  _("请于 %(d)s 前提交变更登记。", d=due.isoformat()) + label, dedupe_key=key):
            n += 1
        for account in accounts.get(ent_id, []):
            notify(session, account, "registration_due", _("请办理首席质量官变更登记"),
                   _("请于 %(d)s 前为首席质量官 %(n)s 提交变更登记（聘用后一个月内）。", d=due.isoformat(), n=name or ""),
                   link("talent.appointments"), dedupe_key=f"{key}:{uid}")
    return n


def remind_objections(session: Session, today: dt.date) -> int:
    """A notice whose objection period ends within ``OBJECTION_REMINDER_DAYS`` with objections still open: the
    bureau that published it (the publisher and the enabled bureau accounts of its region) is reminded to resolve
    them, once per step, none after the period. Returns the notices reminded about."""
    open_objections = select(NoticeObjection.notice_id).where(NoticeObjection.status == ObjectionStatus.open)
    notices = session.scalars(select(Notice).where(Notice.closed_on.is_(None), Notice.withdrawn.is_(False),
                                                   Notice.objection_until >= today, Notice.id.in_(open_objections))).all()
    n = 0
    for notice in notices:
        step = _step(today, notice.objection_until, OBJECTION_REMINDER_DAYS)
        if step is None:
            continue
        pending = session.scalar(select(func.count()).select_from(NoticeObjection).where(
            NoticeObjection.notice_id == notice.id, NoticeObjection.status == ObjectionStatus.open))
        bureau = set(session.scalars(select(User.id).where(User.role == Role.regulator_admin, User.is_enabled.is_(True),
                                                           User.region_id == notice.region_id)))
        if notice.published_by_id:
            bureau.add(notice.published_by_id)
        sent = False
        for uid in sorted(bureau):
            sent |= notify(session, uid, "notice_objections", _("公示期即将结束，尚有异议未处理"),
                           _("《%(t)s》公示期至 %(d)s，还有 %(k)d 件异议未处理。", t=notice.title,
                             d=notice.objection_until.isoformat(), k=pending),
                           link("talent.notice_admin", notice_id=notice.id),
                           dedupe_key=f"notice_objections:{notice.id}:{step}") is not None
        n += sent
    return n


def send_reminders(session: Session, today: dt.date) -> dict:
    """Daily reminders: the year's report or CE proof due, a change registration due, an objection period ending."""
    return {"ce_due": remind_ce_due(session, today), "registration": remind_registration_due(session, today),
            "objections": remind_objections(session, today)}
