"""Issue 18 (HIGH): "writes are scoped like reads". A sweep over every write route of the app, pages and API alike:
each route that names a stored record in its path is called, by someone outside that record's province or county,
with the id of a record of Jiangsu (Nantong, Qidong) — a class, session, enrolment, course, lesson, programme, rule
set, question bank, question, exam, section, attempt, answer, certificate, credit claim, pool entry, appointment,
indicator, filing, results report, institution, enterprise, user, token. Every answer must be 403 or 404 and the
database must not change (``test_security_writes.py`` checks the access_denied events of the courses and orgs
models one by one). A new write route whose path names a record this sweep cannot build fails the test, so the
sweep stays complete."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from certificates import services as cert_services
from courses.models import ClassSession, Course
from courses.services import plans
from credits import services as credits
from exams import attempts
from exams.models import Answer, BlueprintSection, Question
from lms.auth import services as auth_services
from lms.auth.models import AuditEvent
from lms.db import Base
from lms.domain import Role, Tier
from lms.templating import today_local
from reports.services import filing, imports
from talent.models import Indicator, TalentEntry
from talent.services import appointments, assessments, evaluation, notices, provincial_eval, sanctions
from tests import courses_support as cs
from tests import exam_factories as ef
from tests.cert_factories import cert_cfg, completion_rules, cw  # noqa: F401 (fixtures)
from tests.conftest import TODAY, csrf_token, login
from tests.factories import make_staff
from tests.unit.test_provincial_evaluation import BANDS, _tree
from tests.report_factories import finished_class, unfiled_class

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF"
# Tables a refused request may still write: the audit trail (the refusal itself), sign-in and throttling, API token
# use, the verification log. Everything else must be exactly as before.
BOOKKEEPING = {"audit_events", "audit_anchors", "audit_chain_head", "api_tokens", "login_attempts", "user_sessions",
               "certificate_verifications", "notifications"}
# Path parameters that name no stored record of the kinds above (public links, language, jobs by name).
NOT_A_RECORD = {"code", "token", "cid", "job_id"}
# A trainee's own records on something every trainee may see (an open class, the catalogue's lessons): applying
# to a class of another province, or studying one of its lessons, is the trainee's own business. These routes may
# answer the page, but may change nothing except the caller's own rows.
SELF_SERVICE = {"/courses/classes/<int:class_id>/apply", "/courses/lessons/<int:lesson_id>/progress",
                "/courses/classes/<int:class_id>"}
MISSING = 2**31 - 1  # an id no record has
ATTACKERS = {"fj_admin": "another province's bureau", "fj_staff": "another province's institution",
             "linfz": "another province's trainee", "rg_admin": "another county's bureau"}


def _records(db, world, app, cw, cert_cfg) -> dict[str, object]:
    """One record of Jiangsu per kind a write route names, built through the services as their owners would."""
    ids: dict[str, object] = {}
    prog = cs.programme(db, world, Tier.advanced)  # the certificate class (``cw``) has this year's basic one
    course = cs.course(db, world, code="SW-01", lessons=1, owner_institution=world.inst_nt)
    klass = cs.training_class(db, world, prog, sessions=1)
    ids.update(programme_id=prog.id, rule_set_id=prog.eligibility_rule_set_id, course_id=course.id,
               lesson_id=course.lessons[0].id, class_id=klass.id,
               session_id=db.scalar(select(ClassSession.id).where(ClassSession.class_id == klass.id)))
    # Exams: a bank, a published exam of the certificate class with a short answer, an attempt submitted.
    bank = ef.make_bank(db, world.staff_nt)
    exam = ef.make_exam(db, world.staff_nt, cw.cls, bank, sections=[("short_answer", 1, 100)],
                        opens_at=attempts.utcnow() - dt.timedelta(hours=1),
                        closes_at=attempts.utcnow() + dt.timedelta(days=1), review_policy="after_submit")
    att = attempts.start_attempt(db, world.trainee, exam)
    attempts.save_answer(db, world.trainee, att, att.questions[0].id, text="建立质量管理体系", seq=1)
    attempts.submit(db, world.trainee, att)
    ids.update(bank_id=bank.id, question_id=db.scalar(select(Question.id).where(Question.bank_id == bank.id).limit(1)), exam_id=exam.id, attempt_id=att.id,
               section_id=db.scalar(select(BlueprintSection.id).where(BlueprintSection.exam_id == exam.id)),
               answer_id=db.scalar(select(Answer.id).where(Answer.attempt_id == att.id)),
               enrollment_id=cw.e_wang.id)
    # Certificates, and what follows them: the pool entry, credits, an appointment, the province's indicators.
    db.add(Course(code="SW-02", title="质量法律制度", hours=8, subject_category="professional",
                  owner_province_id=world.jiangsu.id))
    with completion_rules(ok=True):
        cert = cert_services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    ids.update(cert_id=cert.id, number=cert.number,
               entry_id=db.scalar(select(TalentEntry.id).where(TalentEntry.user_id == world.trainee.id)))
    evaluation.ensure_first_level(db, world.jiangsu.id)
    evaluation.save_indicators(db, world.province_admin, world.jiangsu.id, [
        evaluation.IndicatorRow("A1", "A", "质量意识", None, 10, "自评")])
    ids["node_id"] = db.scalar(select(Indicator.id).where(Indicator.province_id == world.jiangsu.id)
                               .order_by(Indicator.id.desc()).limit(1))
    ids["appt_id"] = appointments.submit_appointment(db, world.trainee, appointments.AppointmentData(
        kind="initial", appointed_on=TODAY, enterprise_head="张总", enterprise_head_phone="0513",
        quality_head="", quality_head_phone="", cv="简历内容", awards="", opinion="我单位任命王芳同志为企业首席质量官。",
        opinion_date=TODAY), PDF, "letter.pdf", app.config["UPLOAD_DIR"], TODAY).id  # appointed once certified
    # The public notice, an objection to it, and a bureau's sanction on the member.
    notice = notices.publish_notice(db, world.city_admin, title="南通市受聘首席质量官公示", objection_days=7,
                                    contact="0513-1", today=TODAY)
    ids.update(notice_id=notice.id, objection_id=notices.lodge_objection(
        db, notice, line_id=None, text="该同志已于九月离职，请核实。", contact_name="张三", contact="13912345678", today=TODAY).id)
    ids["sanction_id"] = sanctions.impose(db, world.city_admin, db.get(TalentEntry, ids["entry_id"]), kind="warning",
                                          reason="delayed", basis="", evidence="逾期未报送年度报告", today=TODAY).id
    ids["claim_id"] = credits.submit_claim(db, world.trainee, credits.ClaimData(
        user_id=world.trainee.id, title="论坛", organiser="", activity_date=dt.date(2026, 10, 1), hours=4,
        subject_category="public"), PDF, "e.pdf", app.config["UPLOAD_DIR"], dt.date(2026, 11, 22)).id
    # Reports: a class filed with its bureau, and a finished class's results report.
    ids["filing_id"] = filing.file_class(db, world.staff_nt, unfiled_class(db, world, Tier.advanced), today_local()).id
    done, users, _sessions, _exam = finished_class(db, world, trainees=1, sessions=1, exam=False, tier=Tier.senior)
    ids["report_id"] = imports.submit_results_with_rows(
        db, world.staff_nt, done, [{"username": users[0].username, "session_no": 1, "attendance": "present"}],
        "按时结业", today_local(), attempts.utcnow()).id
    # A city's yearly training plan, drafted (issue 15).
    year = today_local().year
    ids["plan_id"] = plans.save_plan(db, world.city_admin, plans.PlanData(
        city_id=world.nantong.id, year=year, syllabus="大纲", lines=[plans.LineData(
            "", None, dt.date(year, 5, 1), dt.date(year, 5, 2), "南通", 2)])).id
    # Evaluation as data (issue 15): an assessment of the member in its first step, and a city's selection.
    provincial_eval.load_tree(db, world.province_admin, world.jiangsu.id, _tree())
    provincial_eval.save_bands(db, world.province_admin, world.jiangsu.id, BANDS)
    for name in ("sw_expert1", "sw_expert2"):
        make_staff(db, name, Role.institution_staff, institution=world.inst_nt)
    ids["assessment_id"] = assessments.open_assessment(db, world.city_admin, db.get(TalentEntry, ids["entry_id"]),
                                                       TODAY.year, ["sw_expert1", "sw_expert2"]).id
    ids["selection_id"] = assessments.open_selection(db, world.city_admin, TODAY.year, "优秀首席质量官评选").id
    # Organisations and accounts.
    ids.update(inst_id=world.inst_nt.id, ent_id=world.ent_qd.id, user_id=world.staff_nt.id, tier="basic", down=1,
               token_id=auth_services.create_token(db, world.staff_nt, "机构系统")[0].id)
    db.commit()
    return ids


def _write_routes(app) -> list[tuple[str, str, list[str]]]:
    """(rule, method, path parameters) of every route that writes and names something in its path."""
    out = []
    for rule in app.url_map.iter_rules():
        params = re.findall(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", rule.rule)
        if not params or set(params) & NOT_A_RECORD or rule.endpoint.split(".")[-1].startswith("public_"):
            continue  # public endpoints (a QR check-in) answer to a signed ticket, not to who is signed in
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            out.append((rule.rule, method, params))
    return out


def _snapshot(db, except_user: int | None = None) -> dict:
    """Every row of every table but the bookkeeping ones; with ``except_user``, leaving out that user's own rows."""
    db.expire_all()
    out = {}
    for t in Base.metadata.sorted_tables:
        if t.name in BOOKKEEPING:
            continue
        stmt = select(t).order_by(*t.primary_key.columns)
        if except_user is not None and "user_id" in t.c:
            stmt = stmt.where(t.c.user_id != except_user)
        out[t.name] = db.execute(stmt).all()
    return out


def _denials(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access_denied"))


def _changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _call(client, rule: str, method: str, ids: dict, token: str, bearer: str) -> int:
    url = re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", lambda m: str(ids[m.group(1)]), rule)
    if rule.startswith("/api/"):
        return client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {bearer}"}).status_code
    return client.open(url, method=method, data={"csrf_token": token}).status_code


@pytest.mark.parametrize("attacker", list(ATTACKERS))
def test_security_writes_sweep_every_write_route_refuses_another_region(app, client, db, world, cw, cert_cfg, attacker):
    ids = _records(db, world, app, cw, cert_cfg)
    user = {"fj_admin": world.fujian_admin, "fj_staff": world.staff_fj, "linfz": world.trainee_fz,
            "rg_admin": world.rugao_admin}[attacker]
    _tok, bearer = auth_services.create_token(db, user, "越权")
    db.commit()
    login(client, attacker)
    token = csrf_token(client, "/home")
    routes = _write_routes(app)
    missing = {p for _r, _m, params in routes for p in params} - set(ids)
    assert not missing, f"the sweep cannot build a record for {sorted(missing)}: add it to _records"
    failures = []
    for rule, method, params in routes:
        mine = user.id if rule in SELF_SERVICE else None
        before, denials = _snapshot(db, mine), _denials(db)
        status = _call(client, rule, method, ids, token, bearer)
        changed = _changed(before, _snapshot(db, mine))
        if status == 404 and _denials(db) == denials:  # the record exists: its refusal leaves a trace
            failures.append(f"{method} {rule}: 404 without an access_denied audit event")
        # Refused (403/404), or — for one's own records on a visible record — let through; or an answer that says
        # nothing about the record: the same as for an id that does not exist (a malformed body refused first).
        ok = status in (403, 404) or (mine is not None and status in (200, 302)) or (
            status < 500 and status == _call(client, rule, method, dict.fromkeys(ids, MISSING), token, bearer))
        if not ok or changed:
            failures.append(f"{method} {rule}: {status}, changed {changed}")
    assert not failures, f"{ATTACKERS[attacker]} ({attacker}):\n" + "\n".join(failures)
