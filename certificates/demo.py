"""Demo certificates in every state (valid, revoked, expired, superseded) and a class waiting for its
certificates. Creates the few programme, class and enrolment rows it needs, found by natural keys, since the
courses demo is seeded separately. Idempotent."""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates import keys, services
from certificates.models import Certificate, ReasonCategory
from courses.models import Enrollment, EnrollmentStatus, Programme, TrainingClass
from lms.auth.models import User
from lms.demo import add_seed_hook
from lms.domain import Tier
from lms.orgs.models import Institution, Region

INSTITUTION = "南通市质量技术培训中心"
ISSUED_CLASS = "南通市{year}年首席质量官基础培训班（证书示例）"
PENDING_CLASS = "南通市{year}年首席质量官基础培训班（待发证）"
# username, the state its certificate is left in
ISSUED = [("trainee", "valid"), ("trainee01", "revoked"), ("trainee02", "superseded"), ("trainee03", "valid")]
EXPIRED = [("trainee04", "expired")]
PENDING = ["trainee05", "trainee06", "trainee07", "trainee08"]


def _config() -> services.CertConfig:
    if has_app_context():
        return services.CertConfig.from_app(current_app)
    from lms.config import load

    cfg = load()
    return services.CertConfig(cfg["CERT_KEY_DIR"], cfg["PUBLIC_BASE_URL"].rstrip("/"))


def _programme(session: Session, province: Region, year: int) -> Programme:
    prog = session.scalar(select(Programme).where(Programme.province_id == province.id, Programme.tier == Tier.basic,
                                                  Programme.year == year))
    if prog is None:
        prog = Programme(province_id=province.id, tier=Tier.basic, year=year, name=f"{year}年江苏省首席质量官基础培训",
                         total_hours=40, pass_mark=60, min_attendance_rate=0.8, certificate_validity_years=3)
        session.add(prog)
        session.flush()
    return prog


def _class(session: Session, inst: Institution, prog: Programme, name: str, start: dt.date) -> TrainingClass:
    cls = session.scalar(select(TrainingClass).where(TrainingClass.institution_id == inst.id, TrainingClass.name == name))
    if cls is None:
        cls = TrainingClass(programme_id=prog.id, institution_id=inst.id, region_id=inst.region_id, name=name,
                            place="南通市崇川区工农路 1 号", start_date=start, end_date=start + dt.timedelta(days=4),
                            capacity=40, enrol_opens_on=start - dt.timedelta(days=30),
                            enrol_closes_on=start - dt.timedelta(days=7))
        session.add(cls)
        session.flush()
    return cls


def _enrol(session: Session, cls: TrainingClass, user: User) -> Enrollment:
    e = session.scalar(select(Enrollment).where(Enrollment.class_id == cls.id, Enrollment.user_id == user.id))
    if e is None:
        e = Enrollment(class_id=cls.id, user_id=user.id, status=EnrollmentStatus.approved, eligibility={})
        session.add(e)
        session.flush()
    return e


def seed(session: Session, today: dt.date) -> dict:
    inst = session.scalar(select(Institution).where(Institution.name == INSTITUTION))
    province = session.scalar(select(Region).where(Region.code == "320000"))
    staff = session.scalar(select(User).where(User.username == "nt_staff"))
    bureau_admin = session.scalar(select(User).where(User.username == "nantong_admin"))
    if inst is None or province is None or staff is None or bureau_admin is None:
        return {}
    cfg = _config()
    keys.ensure_key(cfg.key_dir, today)
    users = {u.username: u for u in session.scalars(select(User).where(
        User.username.in_([n for n, _s in ISSUED + EXPIRED] + PENDING)))}
    created = 0

    def certify(cls: TrainingClass, username: str, state: str, issued_on: dt.date) -> None:
        nonlocal created
        user = users.get(username)
        if user is None:
            return
        e = _enrol(session, cls, user)
        if session.scalar(select(Certificate.id).where(Certificate.enrollment_id == e.id)) is not None:
            return
        # Demo data stands in for attendance and exams that are not seeded here: the certificate is created
        # directly, not through the completion check.
        cert = services._create(session, staff, e, cfg, issued_on)
        created += 1
        if state == "revoked":
            services.change_status(session, bureau_admin, cert, "revoke", ReasonCategory.quality_fault.value,
                                   "所在企业发生重大产品质量事故，经调查负有直接责任", today)
        elif state == "superseded":
            services.reissue(session, staff, cert, "持证人姓名录入有误，更正后换发", cfg, issued_on)
            created += 1

    issued_on = today - dt.timedelta(days=20)
    cls = _class(session, inst, _programme(session, province, issued_on.year),
                 ISSUED_CLASS.format(year=issued_on.year), issued_on - dt.timedelta(days=40))
    for username, state in ISSUED:
        certify(cls, username, state, issued_on)

    old = dt.date(today.year - 4, 6, 20)
    old_cls = _class(session, inst, _programme(session, province, old.year), ISSUED_CLASS.format(year=old.year),
                     old - dt.timedelta(days=30))
    for username, state in EXPIRED:
        certify(old_cls, username, state, old)
    services.expire_due(session, today)

    pending = _class(session, inst, _programme(session, province, today.year), PENDING_CLASS.format(year=today.year),
                     today - dt.timedelta(days=14))
    for username in PENDING:
        if username in users:
            _enrol(session, pending, users[username])
    session.flush()
    return {"certificates": created}


add_seed_hook(seed)
