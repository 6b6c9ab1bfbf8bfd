"""Excel exports: the dashboard's tables, a class's results roster and its offline-results template. Every text cell goes through
``safe_cell`` so a value beginning with = + - or @ cannot run as a formula when opened."""
from __future__ import annotations

import io

from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses.models import ClassSession, Enrollment, EnrollmentStatus, TrainingClass
from lms.domain import Tier


def safe_cell(value):
    """A text cell that begins with = + - or @ is prefixed with an apostrophe so no spreadsheet runs it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def template(session: Session, klass: TrainingClass) -> bytes:
    """The class's roster, one row per trainee and session, to fill in offline attendance and paper scores."""
    from exams.results import real_name
    from lms.templating import SHANGHAI

    sessions = list(session.scalars(select(ClassSession).where(ClassSession.class_id == klass.id)
                                    .order_by(ClassSession.starts_at, ClassSession.id)))
    wb = Workbook()
    ws = wb.active
    ws.title = "线下成绩"
    ws.append(["学员账号", "姓名", "课次", "课次时间", "考勤", "考试成绩", "考试日期"])
    enrollments = session.scalars(select(Enrollment).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.approved).order_by(Enrollment.id))
    for e in enrollments:
        name = real_name(e.user)
        if not sessions:
            ws.append([safe_cell(e.user.username), safe_cell(name), None, None, None, None, None])
        for i, cs in enumerate(sessions, start=1):
            ws.append([safe_cell(e.user.username), safe_cell(name), i,
                       cs.starts_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"), None, None, None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _append(ws, row: list) -> None:
    ws.append([safe_cell(v) for v in row])


def _pct(v):
    return None if v is None else round(v * 100, 1)


def dashboard_workbook(data: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("培训与发证")
    region = data["region"]
    _append(ws, [_("地区"), region.name, _("年度"), data["year"], _("统计截至"), data["as_of"].isoformat()])
    _append(ws, [])
    header = [_("地区")]
    for tier in Tier:
        header += [_("%(t)s培训人数", t=tier.label), _("%(t)s考核人数", t=tier.label), _("%(t)s合格人数", t=tier.label),
                   _("%(t)s合格率(%%)", t=tier.label), _("%(t)s发证数", t=tier.label)]
    header += [_("合计培训人数"), _("合计合格率(%)"), _("合计发证数")]
    _append(ws, header)

    def line(name, t):
        row = [name]
        for tier in Tier:
            f = t[tier.value]
            row += [f["trained"], f["assessed"], f["passed"], _pct(f["pass_rate"]), f["certificates"]]
        row += [t["total"]["trained"], _pct(t["total"]["pass_rate"]), t["total"]["certificates"]]
        _append(ws, row)

    def name_of(child):
        return _("%(r)s本级", r=child["region"].name) if child["own"] else child["region"].name

    for child in data["children"]:
        line(name_of(child), child["training"])
    line(_("合计") + f"（{region.name}）", data["training"])

    ws2 = wb.create_sheet(_("聘任率"))
    _append(ws2, [_("地区"), _("企业类别"), _("企业数"), _("已聘任首席质量官"), _("聘任率(%)"), _("目标(%)")])
    for name, app in [(name_of(c), c["appointment"]) for c in data["children"]] + [(region.name, data["appointment"])]:
        for key in ("above_size", "small_micro_key"):
            a = app[key]
            _append(ws2, [name, a["label"], a["enterprises"], a["appointed"], _pct(a["rate"]), _pct(a["target"])])

    ws3 = wb.create_sheet(_("趋势"))
    _append(ws3, [_("年度"), _("培训人数"), _("合格率(%)"), _("发证数"), _("规模以上企业聘任率(%)"), _("目标(%)")])
    for t in data["trend"]:
        a = (t["appointment"] or {}).get("above_size") or {}
        _append(ws3, [t["year"], t["training"]["total"]["trained"], _pct(t["training"]["total"]["pass_rate"]),
                      t["training"]["total"]["certificates"], _pct(a.get("rate")), _pct(a.get("target"))])

    ws4 = wb.create_sheet(_("证书状态"))
    _append(ws4, [_("状态"), _("证书数")])
    from certificates.models import CertificateStatus

    for key, n in data["statuses"].items():
        _append(ws4, [CertificateStatus(key).label, n])

    from talent.models import PoolStatus

    ws5 = wb.create_sheet(_("人才库与继续教育"))
    _append(ws5, [_("人才库状态"), _("人数")])
    for key, n in data["pool"]["statuses"].items():
        _append(ws5, [PoolStatus(key).label, n])
    p = data["pool"]
    _append(ws5, [])
    _append(ws5, [_("%(y)d 年度继续教育", y=data["year"]), _("应考核人数"), _("达标人数"), _("达标率"), _("学时不足"), _("未交履职报告")])
    _append(ws5, ["", p["members"], p["compliant"], _pct(p["rate"]), p["hours_short"], p["report_missing"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def roster_workbook(class_name: str, rows: list[dict], totals: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("结果报告")
    _append(ws, [class_name])
    _append(ws, [_("学员账号"), _("姓名"), _("出勤率(%)"), _("考试成绩"), _("是否合格"), _("成绩来源"), _("证书编号")])
    for r in rows:
        _append(ws, [r["username"], r["name"], _pct(r["attendance_rate"]), r["score"],
                     "" if r["passed"] is None else (_("合格") if r["passed"] else _("不合格")),
                     {"online": _("在线考试"), "offline": _("线下考试")}.get(r["exam_source"] or "", ""),
                     r["certificate"] or ""])
    _append(ws, [])
    _append(ws, [_("学员数"), totals.get("trainees"), _("考核人数"), totals.get("assessed"), _("合格人数"),
                 totals.get("passed"), _("发证数"), totals.get("certificates")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
