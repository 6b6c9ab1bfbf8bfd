"""Excel exports: the dashboard's tables, a class's results roster and its offline-results template, all
written through ``lms.sheets`` (dates as date cells, numbers as numbers, accounts as text, and no text that a
spreadsheet would run as a formula)."""
from __future__ import annotations


from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.models import CertificateStatus
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from exams.results import real_name
from lms import sheets
from lms.domain import Tier
from reports.queries import sessions_of
from talent.models import PoolStatus


def template(session: Session, klass: TrainingClass) -> bytes:
    """The class's roster, one row per trainee and session, to fill in offline attendance and paper scores."""
    sessions = sessions_of(session, klass)
    wb, ws = sheets.workbook("线下成绩", ["学员账号", "姓名", "课次", "课次时间", "考勤", "考试成绩", "考试日期"])
    enrollments = session.scalars(select(Enrollment).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.approved).order_by(Enrollment.id))
    for e in enrollments:
        name = real_name(e.user)
        if not sessions:
            sheets.append(ws, [sheets.Text(e.user.username), name, None, None, None, None, None])
        for i, cs in enumerate(sessions, start=1):
            sheets.append(ws, [sheets.Text(e.user.username), name, i, cs.starts_at, None, None, None])
    return _workbook_bytes(wb)


def _append(ws, row: list) -> None:
    sheets.append(ws, row)


def _pct(v):
    return None if v is None else round(v * 100, 1)


def _workbook_bytes(wb: Workbook) -> bytes:
    return sheets.to_bytes(wb)


def _region_name(child: dict) -> str:
    return _("%(r)s本级", r=child["region"].name) if child["own"] else child["region"].name


def _training_sheet(ws, data: dict) -> None:
    region = data["region"]
    _append(ws, [_("地区"), region.name, _("年度"), data["year"], _("统计截至"), data["as_of"]])
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

    for child in data["children"]:
        line(_region_name(child), child["training"])
    line(_("合计") + f"（{region.name}）", data["training"])


def _appointment_sheet(ws, data: dict) -> None:
    _append(ws, [_("地区"), _("企业类别"), _("企业数"), _("已聘任首席质量官"), _("聘任率(%)"), _("目标(%)"), _("目标依据")])
    rows = [(_region_name(c), c["appointment"]) for c in data["children"]] + [(data["region"].name, data["appointment"])]
    for name, app in rows:
        for key in ("above_size", "small_micro_key"):
            a = app[key]
            _append(ws, [name, a["label"], a["enterprises"], a["appointed"], _pct(a["rate"]), _pct(a["target"]),
                         a["target_basis"]])


def _trend_sheet(ws, data: dict) -> None:
    _append(ws, [_("年度"), _("培训人数"), _("合格率(%)"), _("发证数"), _("规模以上企业聘任率(%)"), _("目标(%)")])
    for t in data["trend"]:
        a = (t["appointment"] or {}).get("above_size") or {}
        _append(ws, [t["year"], t["training"]["total"]["trained"], _pct(t["training"]["total"]["pass_rate"]),
                     t["training"]["total"]["certificates"], _pct(a.get("rate")), _pct(a.get("target"))])


def _pool_sheet(ws, data: dict) -> None:
    _append(ws, [_("人才库状态"), _("人数")])
    for key, n in data["pool"]["statuses"].items():
        _append(ws, [PoolStatus(key).label, n])
    p = data["pool"]
    _append(ws, [])
    _append(ws, [_("%(y)d 年度继续教育", y=data["year"]), _("应考核人数"), _("达标人数"), _("达标率"), _("学时不足"), _("未交履职报告")])
    _append(ws, ["", p["members"], p["compliant"], _pct(p["rate"]), p["hours_short"], p["report_missing"]])


def dashboard_workbook(data: dict) -> bytes:
    """The dashboard (``queries.dashboard``) as a workbook: training and certificates, appointment rates,
    the trend, certificates by status, the talent pool and continuing education."""
    wb, ws = sheets.workbook(_("培训与发证"))
    _training_sheet(ws, data)
    _appointment_sheet(wb.create_sheet(_("聘任率")), data)
    _trend_sheet(wb.create_sheet(_("趋势")), data)
    ws4 = wb.create_sheet(_("证书状态"))
    _append(ws4, [_("状态"), _("证书数")])
    for key, n in data["statuses"].items():
        _append(ws4, [CertificateStatus(key).label, n])
    _pool_sheet(wb.create_sheet(_("人才库与继续教育")), data)
    return _workbook_bytes(wb)


def roster_workbook(class_name: str, rows: list[dict], totals: dict) -> bytes:
    """A results roster (``queries.results_shown``) with its totals, as the results page's Excel export."""
    wb, ws = sheets.workbook(_("结果报告"))
    _append(ws, [class_name])
    _append(ws, [_("学员账号"), _("姓名"), _("出勤率(%)"), _("考试成绩"), _("是否合格"), _("成绩来源"), _("证书编号")])
    for r in rows:
        _append(ws, [sheets.Text(r["username"]), r["name"], _pct(r["attendance_rate"]), r["score"],
                     "" if r["passed"] is None else (_("合格") if r["passed"] else _("不合格")),
                     {"online": _("在线考试"), "offline": _("线下考试")}.get(r["exam_source"] or "", ""),
                     r["certificate"] or ""])
    _append(ws, [])
    _append(ws, [_("学员数"), totals.get("trainees"), _("考核人数"), totals.get("assessed"), _("合格人数"),
                 totals.get("passed"), _("发证数"), totals.get("certificates")])
    return _workbook_bytes(wb)
