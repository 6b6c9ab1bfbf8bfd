"""Demo data for the pool and continuing education: province rules, Jiangsu's indicator tree, credits for
the demo trainees whom the certificates demo certified (their pool entries come from those real
certificates), a published notice and a few notifications. Idempotent: looked up by natural keys."""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth import services as auth_services
from lms.auth.models import User
from credits import queries as credit_queries
from lms.demo import DEMO_PASSWORD
from lms.domain import Role
from credits import services as credits
from credits.models import AnnualReport, ProvinceRule
from lms.notifications.services import notify
from lms.orgs.models import Region
from lms.people.models import TraineeProfile
from certificates.models import Certificate
from talent.services import appointments, assessments, evaluation, notices, provincial_eval, rollup, sanctions
from talent.models import Appointment, Assessment, Notice, PoolStatus, Sanction, TalentEntry

TREE = [
    # code, parent, name, weight, max points, evidence
    ("A", "", "", 15, None, ""), ("B", "", "", 15, None, ""), ("C", "", "", 15, None, ""),
    ("D", "", "", 20, None, ""), ("E", "", "", 10, None, ""), ("F", "", "", 25, None, ""),
    ("A1", "A", "质量意识", None, 10, ""), ("A11", "A1", "质量第一理念", None, 5, "访谈记录"), ("A12", "A1", "质量风险意识", None, 5, "制度文件"),
    ("B1", "B", "质量诚信", None, 10, "承诺书"), ("C1", "C", "质量管理知识", None, 10, "培训证书"),
    ("D1", "D", "质量改进能力", None, 10, "改进项目报告"), ("D2", "D", "质量决策能力", None, 10, "会议纪要"),
    ("E1", "E", "内外部沟通", None, 10, "工作记录"), ("F1", "F", "质量绩效", None, 10, "质量指标数据"), ("F2", "F", "质量荣誉", None, 10, "获奖证书"),
]


def _user(session, username):
    return session.scalar(select(User).where(User.username == username))


def seed(session: Session, today: dt.date) -> dict:
    """The demo's rules, indicator tree, credits, roll-up of last year, an evaluation, 王芳's accepted appointment
    and a notice (``talent.wiring`` registers it)."""
    counts = {"notices": 0}
    admin = _user(session, "admin")
    provinces = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(["320000", "350000"])))}
    for code, hours, prof, days in (("320000", 90, 60, 30), ("350000", 90, 60, 30)):
        if code in provinces and session.scalar(select(ProvinceRule.id).where(ProvinceRule.province_id == provinces[code].id)) is None:
            credits.save_rule(session, admin, provinces[code].id, required_hours=hours, professional_min_hours=prof,
                              report_required=True, report_due_month=12, change_registration_days=days)
    if "320000" in provinces:
        evaluation.save_indicators(session, admin, provinces["320000"].id,
                                 [evaluation.IndicatorRow(c, p, n, w, m, e) for c, p, n, w, m, e in TREE])
    if "350000" in provinces:
        evaluation.ensure_first_level(session, provinces["350000"].id)

    names = ["trainee"] + [f"trainee{i:02d}" for i in (1, 2, 3, 4, 6, 7, 8, 9)]
    for i, username in enumerate(names):
        user = _user(session, username)
        prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == user.id)) if user else None
        if prof is None or prof.enterprise is None:
            continue
        if session.scalar(select(TalentEntry.id).where(TalentEntry.user_id == user.id)) is None:
            continue  # not certified in the demo: not in the pool
        for k, (hours, cat) in enumerate([(24, "professional"), (12, "public"), (8 * (i % 3), "professional")]):
            if hours:
                credits.award_system_credit(session, user_id=user.id, year=today.year, hours=hours, subject_category=cat,
                                            source_ref=f"demo:{username}:{today.year}:{k}",
                                            title=["企业质量战略管理", "国家质量发展政策", "六西格玛"][k])
    trainee = _user(session, "trainee")
    last = today.year - 1
    if trainee and session.scalar(select(TalentEntry.id).where(TalentEntry.user_id == trainee.id)) is not None:
        # 王芳 (issue 14): her performance report filed with 80 of the example's 90 hours — compliant by seed 002
        # §4(3) (report OR CE proof), and this is her first year anyway (certified and appointed this year).
        have = sum(credit_queries.hours_by_category(session, trainee.id, today.year).values())
        if have < 80:
            credits.award_system_credit(session, user_id=trainee.id, year=today.year, hours=80 - have,
                                        subject_category="professional", source_ref=f"demo:trainee:{today.year}:80",
                                        title="质量管理体系建设")
        if session.scalar(select(AnnualReport.id).where(AnnualReport.user_id == trainee.id, AnnualReport.year == today.year)) is None:
            session.add(AnnualReport(user_id=trainee.id, year=today.year, filed_on=today - dt.timedelta(days=3),
                                     summary="组织开展质量提升行动，完成质量管理体系内审与管理评审，推进 QC 小组活动 3 项。"))
            session.flush()
    rollup.rollup_year(session, last)
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == trainee.id)) if trainee else None
    counts["appointments"] = _appointment(session, trainee, today)
    counts["standings"] = _standings(session, today)
    counts["assessments"] = _assessments(session, admin, provinces, entry, today)
    nantong_admin = _user(session, "nantong_admin")
    title = f"南通市首席质量官人才库公示（{today.year}年第一批，演示）"
    if nantong_admin and session.scalar(select(Notice.id).where(Notice.title == title)) is None:
        notices.publish_notice(session, nantong_admin, title=title, objection_days=7, contact="南通市市场监督管理局质量发展处 0513-00000000",
                                today=today)
        counts["notices"] += 1
    if trainee:
        notify(session, trainee.id, "welcome", "欢迎使用继续教育功能",
               "在任首席质量官每年递交年度质量管理绩效报告或继续教育证明（崇质强办文〔2022〕3号 四（三））；"
               "学时要求见本省继续教育规则（演示数据为示例）。",
               dedupe_key="demo:welcome")
    session.flush()
    return counts


BANDS = [(90, 100, 5, "优秀"), (80, 90, 4, "良好"), (70, 80, 3, "中等"), (60, 70, 2, "合格"), (0, 60, 1, "待提升")]  # 示例


def _assessments(session: Session, admin: User, provinces: dict, entry: TalentEntry | None, today: dt.date) -> int:
    """Issue 15: the example bands in both provinces, the standard's first-level names with their basis, and for
    王芳 one evaluation through every step (last year) and one in progress (this year, one expert still to score)."""
    for code, region in provinces.items():
        if not provincial_eval.province_bands(session, region.id):
            provincial_eval.save_bands(session, admin, region.id, [provincial_eval.Band(*b) for b in BANDS])
        nodes = provincial_eval.export_tree(session, region.id)
        names = {c: n for c, n, _w in evaluation.FIRST_LEVEL}
        for n in nodes:
            n.name = n.name or names.get(n.code, n.code)
        provincial_eval.load_tree(session, admin, region.id, nodes)
    bureau, ent = _user(session, "qidong_admin"), _user(session, ENTERPRISE_USERNAME)
    if entry is None or bureau is None or ent is None or entry.enterprise_id is None or "320000" not in provinces \
            or entry.province_id != provinces["320000"].id:
        return 0
    leaves = provincial_eval.scored_leaves(session, entry.province_id)
    made = 0
    for year, experts_done in ((today.year - 1, 2), (today.year, 1)):
        if session.scalar(select(Assessment.id).where(Assessment.entry_id == entry.id, Assessment.year == year)):
            continue
        a = assessments.open_assessment(session, bureau, entry, year, ["nt_staff", "js_staff"])
        assessments.self_assess(session, entry.user, a, {leaf.code: (leaf.max_points or 100) * 0.9 for leaf in leaves}, "演示自评")
        assessments.enterprise_opinion(session, ent, a, "同意本人自评，该同志履职尽责（演示）")
        for share, username in ((0.85, "nt_staff"), (0.8, "js_staff"))[:experts_done]:
            assessments.expert_score(session, _user(session, username), a,
                                     {leaf.code: round((leaf.max_points or 100) * share, 1) for leaf in leaves})
        if experts_done == 2:
            assessments.confirm(session, bureau, a, "演示确认", dt.date(year, 12, 20))
        made += 1
    return made


LETTER = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _appointment(session: Session, trainee: User | None, today: dt.date) -> int:
    """王芳's appointment by 启东机械, registered on the seed 002 annex form and accepted by Qidong's bureau: the
    one appointment in force in the demo, so the dashboard's appointment rate (appointments only) is not empty.
    1 when made."""
    reviewer = _user(session, "qidong_admin")
    if trainee is None or reviewer is None or not has_app_context():
        return 0
    if session.scalar(select(Appointment.id).where(Appointment.user_id == trainee.id)) is not None:
        return 0
    entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == trainee.id))
    issued = [c.issued_on for c in entry.certificates if c.in_force(today)] if entry is not None else []
    if not issued:
        return 0  # no certificate in force: she could not be appointed
    on = min(today, min(issued) + dt.timedelta(days=5))  # appointed after she was certified, not before
    prof = session.scalar(select(TraineeProfile).where(TraineeProfile.user_id == trainee.id))
    filer = _enterprise_account(session, reviewer, prof.enterprise) if prof and prof.enterprise else trainee
    data = appointments.AppointmentData(
        kind="initial", appointed_on=on, enterprise_head="张建华", enterprise_head_phone="0513-83300000",
        quality_head="", quality_head_phone="", cv="2012 年起任质量部经理，负责质量管理体系建设与运行。", awards="",
        opinion="经研究，任命王芳同志为我公司首席质量官。", opinion_date=on, id_number=prof.id_number if prof else "")
    appt = appointments.submit_appointment(session, filer, data, LETTER, "任命书.pdf", current_app.config["UPLOAD_DIR"], on)
    appointments.confirm_appointment(session, trainee, appt)
    appointments.review_appointment(session, reviewer, appt, accept=True, reason="")
    return 1


def _enterprise_account(session: Session, bureau: User, enterprise) -> User:
    """The demo's enterprise account ``qd_enterprise`` for 王芳's enterprise, created by Qidong's bureau."""
    user = _user(session, ENTERPRISE_USERNAME)
    if user is None:
        user = auth_services.create_user(session, username=ENTERPRISE_USERNAME, password=DEMO_PASSWORD,
                                         display_name=enterprise.name, role=Role.enterprise, enterprise=enterprise,
                                         created_by=bureau)
    return user


ENTERPRISE_USERNAME = "qd_enterprise"


# The demo's standings (README, "Standings in the demo"): who shows which pool standing on the verify page.
STANDINGS = [("trainee", "in_office"), ("trainee02", "warned"), ("trainee03", "lapsed"), ("trainee01", "disqualified")]


def _standings(session: Session, today: dt.date) -> int:
    """One member of each standing beside 王芳 in office: a warning and a disqualification recorded by Nantong's
    bureau as sanctions (reasons of seed 002 五(三) and seed 001 第六条, the evidence marked 演示), and a lapse.
    Idempotent: a member already sanctioned or lapsed is left alone. The number of standings set."""
    bureau = _user(session, "nantong_admin")
    if bureau is None:
        return 0
    n = 0
    plans = {"trainee02": ("warning", "delayed", "演示数据：2026 年第三季度产品抽检不合格，延迟两个月才向监管部门报告。"),
             "trainee01": ("disqualification", "improper_gain", "演示数据：利用验收职责收受供应商财物，经调查属实。")}
    for username, standing in STANDINGS:
        user = _user(session, username)
        entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user.id)) if user else None
        if entry is None or session.scalar(select(Sanction.id).where(Sanction.entry_id == entry.id)) is not None:
            continue
        if username in plans:
            kind, reason, evidence = plans[username]
            sanctions.impose(session, bureau, entry, kind=kind, reason=reason, basis="", evidence=evidence, today=today)
            n += 1
        elif standing == "lapsed" and entry.status == PoolStatus.active:
            # Not through the roll-up: 何超's only certificate (certificates.demo) is weeks old, so no year-end
            # roll-up could hold two past years against him. Recorded as the roll-up records a lapse instead.
            sanctions.record_lapse(session, entry, year=today.year - 1, today=today,
                                   evidence="演示数据：连续两个年度未按规定递交年度质量管理绩效报告或继续教育证明")
            n += 1
    return n


def standing_links(session: Session, base_url: str) -> list[tuple[str, str, str, str]]:
    """The demo's standings with each holder's verify link (``flask talent-standings``): username, name, pool
    status, link to the newest certificate's public page."""
    out = []
    for username, _standing in STANDINGS:
        user = _user(session, username)
        entry = session.scalar(select(TalentEntry).where(TalentEntry.user_id == user.id)) if user else None
        cert = session.scalars(select(Certificate).where(Certificate.holder_user_id == user.id)
                               .order_by(Certificate.id.desc())).first() if user else None
        if entry is not None and cert is not None:
            out.append((username, entry.name, str(entry.status.label), f"{base_url.rstrip('/')}/v/{cert.cid}"))
    return out
