"""The daily reminders to pool members, before the deadline and never after it: the year's performance report or
CE proof due (seed 002 §4(3)), and a change registration due. Each reminder is a platform notification with a
dedupe key, so that a job run twice (or on a frozen clock) sends nothing twice."""
from __future__ import annotations

import calendar
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from credits import queries as credits
from credits.models import ProvinceRule
from lms.notifications.services import notify
from lms.settingbasis import basis_label
from talent.models import PoolStatus, TalentEntry
from talent.services.standing import _standings_select

# Days before the year's due date at which a CQO held to the rule and not yet meeting it is reminded (示例: no
# seed sets them): at most one reminder per step, the last a week before.
CE_REMINDER_DAYS = (60, 30, 7)


def ce_due_date(rule: ProvinceRule, year: int) -> dt.date:
    """The day the year's report or CE proof is due: the last day of the province's report month."""
    return dt.date(year, rule.report_due_month, calendar.monthrange(year, rule.report_due_month)[1])


def _step(today: dt.date, due: dt.date) -> int | None:
    """The reminder step ``today`` falls in (the smallest of ``CE_REMINDER_DAYS`` not before it), None outside."""
    left = (due - today).days
    if left < 0:
        return None
    steps = [d for d in CE_REMINDER_DAYS if left <= d]
    return min(steps) if steps else None


def remind_ce_due(session: Session, today: dt.date) -> int:
    """Remind every CQO held to this year's rule (in office, past the first year: ``standing``'s one rule) who
    has not met it yet — neither report nor CE proof by seed 002's default — at each step before the due date."""
    year, n = today.year, 0
    rules = {r.province_id: r for r in session.scalars(select(ProvinceRule))}
    st = _standings_select(session, year).subquery()
    rows = session.execute(select(st.c.user_id, st.c.total, st.c.filed, st.c.hours_ok, TalentEntry.province_id)
                           .join(TalentEntry, TalentEntry.id == st.c.entry_id)
                           .where(st.c.held.is_(True), st.c.met.is_(False))).all()
    for uid, total, filed, hours_ok, province_id in rows:
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
        body += basis_label(session, rule, "required_hours")  # the hours and the due month: the rule's basis
        if notify(session, uid, "ce_due", _("年度绩效报告或继续教育证明即将到期"), body, url="/credits/",
                  dedupe_key=f"ce_due:{year}:{step}"):
            n += 1
    return n


def send_reminders(session: Session, today: dt.date) -> dict:
    """Daily reminders: the year's report or CE proof due (``remind_ce_due``), and a change registration due."""
    counts = {"ce_due": remind_ce_due(session, today), "registration": 0}
    rules = {r.province_id: r for r in session.scalars(select(ProvinceRule))}
    rows = session.execute(select(TalentEntry.user_id, TalentEntry.registration_due_on, TalentEntry.province_id)
                           .where(TalentEntry.status != PoolStatus.exited, TalentEntry.registration_due_on >= today)).all()
    for uid, due, province_id in rows:
        # The period the due date counts is the province's change_registration_days: labelled with its basis.
        label = basis_label(session, rules.get(province_id) or credits.rule_for(session, None), "change_registration_days")
        if notify(session, uid, "registration_due", _("请办理首席质量官变更登记"),
                  _("请于 %(d)s 前提交变更登记。", d=due.isoformat()) + label, dedupe_key=f"registration_due:{today.isoformat()}"):
            counts["registration"] += 1
    return counts
