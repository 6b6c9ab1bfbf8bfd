"""The benchmark's data: deterministic, at provincial scale, loaded with set-based inserts.

``generate(app, scale)`` puts into the app's (empty or demo-seeded) database, on top of the demo data:
enterprises, trainees (users + profiles with valid resident ID numbers, encrypted once per value, no ORM),
a shared bank of questions, an open exam class, a check-in class with a session under way, a past class whose
enrolments hold certificates, and — when the talent tables exist in this build — credit records, the talent pool
and its members' appointment registrations (issue 20).

Full issue sizes at ``scale=1``: 200,000 trainees, 2,000 enterprises, 2,000,000 credit records, 50,000
certificates, 500 questions. The same ``seed`` gives the same plaintext data (Fernet ciphertexts carry a random
IV, so only the decrypted values repeat).
"""
from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

FULL = {"trainees": 200_000, "enterprises": 2_000, "credit_records": 2_000_000, "certificates": 50_000,
        "questions": 500}
MIN = {"trainees": 2_000, "enterprises": 20, "credit_records": 2_000, "certificates": 200, "questions": 500}
EXAM_TRAINEES = 500  # sit the exam (workloads: start, autosave, submit)
CHECKIN_TRAINEES = 1_500  # enrolled in the class with a session under way (workload: check-in)
ISSUE_TRAINEES = 5_000  # complete (attended, passed) and waiting for their certificates (workload: issuing)
BATCH = 2_000
VALIDITY_YEARS: int | None = None  # the province's validity: none unless set (本省自定), so certificates have no end date
PASSWORD = "Bench-Passw0rd!"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉斌宇浩凯健俊帆欣怡雪晨阳"
KPS = ["质量管理体系", "统计过程控制", "质量成本", "顾客满意", "供应链质量", "标准化", "计量", "认证认可",
       "产品质量法", "卓越绩效", "六西格玛", "可靠性"]


def sizes(scale: float) -> dict[str, int]:
    return {k: max(MIN[k], int(round(v * scale))) for k, v in FULL.items()}


class Progress:
    """A one-line progress bar on stderr (no dependency; quiet when asked)."""

    def __init__(self, label: str, total: int, quiet: bool = False):
        self.label, self.total, self.done, self.quiet, self.t0 = label, max(total, 1), 0, quiet, time.monotonic()

    def add(self, n: int) -> None:
        self.done += n
        if self.quiet:
            return
        frac = min(1.0, self.done / self.total)
        bar = "#" * int(frac * 30)
        rate = self.done / max(time.monotonic() - self.t0, 1e-6)
        sys.stderr.write(f"\r  {self.label:<16} [{bar:<30}] {self.done:>9,}/{self.total:,} {rate:,.0f}/s")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


@dataclass
class Generated:
    """What the workloads need to find their data again."""

    scale: float
    sizes: dict
    counts: dict = field(default_factory=dict)
    exam_id: int = 0
    exam_class_id: int = 0
    checkin_session_id: int = 0
    checkin_class_id: int = 0
    cert_class_id: int = 0
    issue_class_id: int = 0
    first_user_id: int = 0
    rollup_year: int = 0
    notes: list = field(default_factory=list)
    seconds: float = 0.0


def trainee_rows(seed: int, n: int, start: int = 0):
    """Plain trainee values, deterministic: (username, name, id_number, gender, birth, phone)."""
    from lms.demo import id_number

    # Codes that exist throughout the 1990s (python-stdnum checks the area code against the birth year: Qidong's
    # 320681, for one, only exists from 1989).
    counties = ["320602", "320611", "320621", "320623", "320681", "320105", "320104", "320583", "320582", "320281"]
    for i in range(start, start + n):
        r = random.Random(seed * 1_000_003 + i)
        region = counties[i % len(counties)]
        # Unique by construction: (region, birth day, sequence) never repeats for i < 10 * 3,650 * 1,000.
        k = i // len(counties)
        birth = dt.date(1990, 1, 1) + dt.timedelta(days=k % 3650)
        seq = (k // 3650) % 1000
        name = SURNAMES[r.randrange(len(SURNAMES))] + "".join(GIVEN[r.randrange(len(GIVEN))] for _ in range(r.choice((1, 2))))
        gender = "male" if seq % 2 else "female"  # the 17th digit of a resident ID: odd for men
        phone = f"1{r.choice('3589')}{r.randrange(10**9):09d}"
        yield (f"b{i:07d}", name, id_number(region, birth, seq), gender, birth, phone)


def _batched(rows, size=BATCH):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(session: Session, table, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(table), rows)  # executemany: SQLAlchemy's insertmanyvalues batches on both backends


def generate(app, scale: float = 0.05, seed: int = 2026, quiet: bool = False, today: dt.date | None = None,
             validity_years: int | None = VALIDITY_YEARS) -> Generated:
    """Load the benchmark data into ``app``'s database (schema created, demo data seeded beforehand).
    ``validity_years``: the programmes' certificate validity; None (the default) gives no end date, as the
    product does unless a province sets one (issue 14: no seed states a validity)."""
    from certificates import keys as keystore
    from certificates import seal, signing
    from certificates.models import Certificate, CertificateStatus, IssuerKind
    from courses import gates
    from courses.models import (AttendanceRecord, AttendanceStatus, ClassSession, Enrollment, EnrollmentStatus,
                                Programme, TrainingClass)
    from exams.models import (BlueprintSection, Exam, ExamResult, ExamStatus, Question, QuestionType, ResultSource,
                              ReviewPolicy)
    from exams import banks
    from lms import pii
    from lms.auth import services as auth_services
    from lms.auth.models import User
    from lms.db import db, utcnow
    from lms.domain import Role, Tier
    from lms.orgs.models import Enterprise, Institution, Region
    from lms.people.models import TraineeProfile

    t0 = time.monotonic()
    today = today or dt.date.today()
    now = utcnow()
    sz = sizes(scale)
    out = Generated(scale=scale, sizes=sz)
    rng = random.Random(seed)
    with app.app_context(), db.job_session() as s:
        province = s.scalar(select(Region).where(Region.code == "320000"))
        nantong = s.scalar(select(Region).where(Region.code == "320600"))
        inst = s.scalar(select(Institution).where(Institution.region_id == nantong.id).order_by(Institution.id))
        counties = list(s.scalars(select(Region).where(Region.path.like(nantong.path + "%"))))

        # ---- enterprises
        from lms.demo import credit_code
        from lms.domain import OwnershipType, SizeClass

        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        pb = Progress("enterprises", sz["enterprises"], quiet)
        ent_rows = []
        for i in range(sz["enterprises"]):
            # region digits, then "MA" and a base-31 counter: valid USCCs, distinct from the demo's
            code_seed = counties[i % len(counties)].code + "MA" + "".join(
                alphabet[(i // len(alphabet) ** p) % len(alphabet)] for p in range(6, -1, -1))
            ent_rows.append({"name": f"南通基准{i:05d}制造有限公司", "credit_code": credit_code(code_seed),
                             "region_id": counties[i % len(counties)].id, "industry": rng.choice(["纺织", "机械", "化工", "电子", "食品"]),
                             "ownership_type": rng.choice(list(OwnershipType)), "size_class": rng.choice(list(SizeClass)),
                             "above_designated_size": rng.random() < 0.4, "main_products": "", "address": "", "created_at": now})
        for batch in _batched(ent_rows):
            _insert(s, Enterprise.__table__, batch)
            pb.add(len(batch))
        ent_ids = list(s.scalars(select(Enterprise.id).where(Enterprise.name.like("南通基准%")).order_by(Enterprise.id)))
        out.counts["enterprises"] = len(ent_ids)

        # ---- trainees: users + profiles. One Argon2 hash for all (same password); each ID number and phone
        # encrypted once, in the loop that builds the batch, and inserted without the ORM.
        pw_hash = auth_services.hash_password(PASSWORD)
        fernet = pii._fernet()
        first_uid = (s.scalar(select(func.max(User.id))) or 0) + 1
        out.first_user_id = first_uid
        pb = Progress("trainees", sz["trainees"], quiet)
        uid = first_uid
        for batch in _batched(trainee_rows(seed, sz["trainees"])):
            users, profiles = [], []
            for username, name, idn, gender, birth, phone in batch:
                users.append({"id": uid, "username": username, "password_hash": pw_hash, "display_name": name,
                              "role": Role.trainee, "region_id": None, "institution_id": None, "email": "",
                              "is_enabled": True, "created_at": now})
                profiles.append({
                    "user_id": uid, "real_name": name, "id_number": fernet.encrypt(idn.encode()),
                    "id_number_hash": pii.lookup_hash(idn), "gender": gender, "birth_date": birth,
                    "education": "bachelor", "school": "", "major": "", "title_level": "intermediate",
                    "professional_title": "工程师", "quality_qualification": "engineer", "quality_years": 5 + uid % 20,
                    "current_post": "质量总监", "enterprise_id": ent_ids[uid % len(ent_ids)],
                    "phone": fernet.encrypt(phone.encode()), "phone_hash": pii.lookup_hash(phone), "email": "",
                    "address": "", "postcode": "226000", "created_at": now, "updated_at": now})
                uid += 1
            _insert(s, User.__table__, users)
            _insert(s, _raw_profile_table(TraineeProfile.__table__), profiles)
            pb.add(len(batch))
        out.counts["trainees"] = uid - first_uid

        # ---- questions: a shared bank of 500 (two thirds single choice, then multiple, then true/false)
        bank = banks.shared_bank(s, province, f"{province.name}基准题库")
        pb = Progress("questions", sz["questions"], quiet)
        qrows = []
        for i in range(sz["questions"]):
            kind = QuestionType.single if i % 3 == 0 else QuestionType.multiple if i % 3 == 1 else QuestionType.true_false
            if kind == QuestionType.true_false:
                opts, ans = [{"id": "A", "text": "正确"}, {"id": "B", "text": "错误"}], [rng.choice("AB")]
            else:
                opts = [{"id": c, "text": f"选项{c}-{i}"} for c in "ABCD"]
                ans = [rng.choice("ABCD")] if kind == QuestionType.single else sorted(rng.sample("ABCD", 2))
            qrows.append({"bank_id": bank.id, "type": kind, "stem": f"基准题 {i + 1}：关于{KPS[i % len(KPS)]}，下列说法正确的是？",
                          "options": opts, "answer": ans, "reference_answer": "", "knowledge_point": KPS[i % len(KPS)],
                          "difficulty": rng.choice(["easy", "medium", "hard"]), "explanation": "", "is_active": True,
                          "created_at": now})
        _insert(s, Question.__table__, qrows)
        pb.add(len(qrows))
        out.counts["questions"] = len(qrows)

        # ---- classes: the exam class, the check-in class (a session under way) and a past class with certificates
        programme = s.scalar(select(Programme).where(Programme.province_id == province.id, Programme.tier == Tier.advanced))
        if programme is None:
            programme = Programme(province_id=province.id, tier=Tier.advanced, year=today.year, name="基准提升培训",
                                  total_hours=32, pass_mark=60, min_attendance_rate=0.8, certificate_validity_years=validity_years)
            s.add(programme)
            s.flush()

        def new_class(name, start, end, programme=programme):
            c = TrainingClass(programme_id=programme.id, institution_id=inst.id, region_id=inst.region_id, name=name,
                              place="基准", start_date=start, end_date=end, capacity=100_000,
                              enrol_opens_on=start - dt.timedelta(days=40), enrol_closes_on=start - dt.timedelta(days=10))
            s.add(c)
            s.flush()
            # Filed with and accepted by its bureau (as the demo data does): the filing gate refuses to enrol or
            # to certify a class that is not, and the issuing workload certifies.
            gates.record_filed(s, c, "基准数据")
            return c

        exam_cls = new_class("基准考试班", today - dt.timedelta(days=10), today + dt.timedelta(days=10))
        checkin_cls = new_class("基准签到班", today - dt.timedelta(days=1), today + dt.timedelta(days=5))
        cert_cls = new_class("基准往期班", today - dt.timedelta(days=400), today - dt.timedelta(days=370))
        out.exam_class_id, out.checkin_class_id, out.cert_class_id = exam_cls.id, checkin_cls.id, cert_cls.id
        # The issuing class follows a programme of its own with no required courses: completion is attendance
        # and the exam, which the generator records below.
        basic = Programme(province_id=province.id, tier=Tier.basic, year=today.year, name="基准基础培训", total_hours=3,
                          pass_mark=60, min_attendance_rate=0.8, certificate_validity_years=validity_years, requires_lower_tier=False)
        s.add(basic)
        s.flush()
        issue_cls = new_class("基准发证班", today - dt.timedelta(days=30), today - dt.timedelta(days=1), programme=basic)
        out.issue_class_id = issue_cls.id
        issue_session = ClassSession(class_id=issue_cls.id, starts_at=now - dt.timedelta(days=20),
                                     ends_at=now - dt.timedelta(days=20, hours=-3), hours=3, place="基准", topic="结业")
        issue_exam = Exam(title="基准基础结业考试（线下）", institution_id=inst.id, class_id=issue_cls.id,
                          opens_at=now - dt.timedelta(days=3), closes_at=now - dt.timedelta(days=2), duration_minutes=60,
                          attempts_allowed=1, status=ExamStatus.published)
        s.add_all([issue_session, issue_exam])
        s.flush()
        cs = ClassSession(class_id=checkin_cls.id, starts_at=now - dt.timedelta(minutes=5), ends_at=now + dt.timedelta(hours=3),
                          hours=3, place="基准", topic="签到压力")
        s.add(cs)
        s.flush()
        out.checkin_session_id = cs.id
        exam = Exam(title="基准结业考试", institution_id=inst.id, class_id=exam_cls.id, opens_at=now - dt.timedelta(hours=1),
                    closes_at=now + dt.timedelta(days=2), duration_minutes=120, attempts_allowed=1, pass_mark=None,
                    review_policy=ReviewPolicy.after_submit, status=ExamStatus.published, shuffle=True)
        s.add(exam)
        s.flush()
        for pos, (kind, count, pts) in enumerate([(QuestionType.single, 40, 1.5), (QuestionType.multiple, 20, 1.5),
                                                  (QuestionType.true_false, 20, 0.5)]):
            s.add(BlueprintSection(exam_id=exam.id, position=pos, title=kind.value, bank_id=bank.id, question_type=kind,
                                   count=count, points_each=pts))
        s.flush()
        out.exam_id = exam.id

        n_exam = min(EXAM_TRAINEES, out.counts["trainees"])
        n_check = min(CHECKIN_TRAINEES, out.counts["trainees"])
        n_cert = min(sz["certificates"], out.counts["trainees"])
        n_issue = min(ISSUE_TRAINEES, out.counts["trainees"])
        pb = Progress("enrolments", n_exam + n_check + n_cert + n_issue, quiet)
        for cls_id, n in ((exam_cls.id, n_exam), (checkin_cls.id, n_check), (cert_cls.id, n_cert),
                          (issue_cls.id, n_issue)):
            rows = [{"class_id": cls_id, "user_id": first_uid + i, "status": EnrollmentStatus.approved, "applied_at": now,
                     "decided_at": now, "decision_reason": "", "eligibility": {}} for i in range(n)]
            for batch in _batched(rows):
                _insert(s, Enrollment.__table__, batch)
                pb.add(len(batch))

        # ---- certificates of the past class, signed like the real ones
        kid, private = keystore.signing_key(app.config["CERT_KEY_DIR"])
        enr = dict(s.execute(select(Enrollment.user_id, Enrollment.id).where(Enrollment.class_id == cert_cls.id)).all())
        names = dict(s.execute(select(User.id, User.display_name).where(User.id >= first_uid, User.id < first_uid + n_cert)).all())
        issued = today  # inside the signing key's window (the key is created today)
        until = issued + dt.timedelta(days=validity_years * 365) if validity_years else None
        pb = Progress("certificates", n_cert, quiet)
        crng = random.Random(seed + 7)
        rows = []
        for i in range(n_cert):
            user_id = first_uid + i
            cid = "".join(crng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(24))
            number = f"320600-T-{issued.year}-B{i:06d}"
            fields = {"holder_name": names[user_id], "number": number, "tier": "advanced", "issued_on": issued.isoformat(),
                      "valid_until": until.isoformat() if until else None, "kid": kid}
            rows.append({"cid": cid, "number": number, "holder_user_id": user_id, "holder_name": names[user_id],
                         "enrollment_id": enr[user_id], "current_for_enrollment_id": enr[user_id], "class_id": cert_cls.id,
                         "institution_id": inst.id, "region_id": inst.region_id, "bureau_id": None,
                         "issuer_kind": IssuerKind.institution, "issuer_id": inst.id, "tier": Tier.advanced,
                         "issued_on": issued, "valid_until": until,
                         "snapshot": {"holder_name": names[user_id], "tier": "advanced", "tier_label": "提升",
                                      "programme": programme.name, "institution": inst.name, "bureau": "",
                                      "issuer": inst.name, "issuer_kind": "institution", "region": nantong.name},
                         "key_id": kid, "signed_part": (part := signing.sign(private, fields)),
                         "seal": seal.make(private, part), "status": CertificateStatus.valid,
                         "status_changed_at": now, "created_at": now})
            if len(rows) >= BATCH:
                _insert(s, Certificate.__table__, rows)
                pb.add(len(rows))
                rows = []
        _insert(s, Certificate.__table__, rows)
        pb.add(len(rows))
        out.counts["certificates"] = n_cert
        out.counts["enrollments"] = n_exam + n_check + n_cert + n_issue

        # ---- the issuing class's completion: every session attended, the offline exam passed
        issue_enr = list(s.execute(select(Enrollment.id, Enrollment.user_id).where(Enrollment.class_id == issue_cls.id)))
        for batch in _batched(issue_enr):
            _insert(s, AttendanceRecord.__table__, [
                {"session_id": issue_session.id, "enrollment_id": e_id, "status": AttendanceStatus.present,
                 "method": "manual", "reason": "", "recorded_at": now, "device_hash": "", "address_hash": ""}
                for e_id, _u in batch])
            _insert(s, ExamResult.__table__, [
                {"exam_id": issue_exam.id, "user_id": u_id, "enrollment_id": e_id, "attempt_id": None,
                 "source": ResultSource.offline, "score": 80.0, "passed": True, "taken_at": now, "recorded_at": now,
                 "note": ""} for e_id, u_id in batch])

        # ---- credit records (the year-end roll-up's input): last year and this year
        out.rollup_year = today.year - 1
        out.counts["credit_records"] = _credit_records(s, first_uid, out.counts["trainees"], sz["credit_records"],
                                                       seed, quiet, out.rollup_year)
        # ---- the talent pool: every generated trainee, with the roll-up's other inputs
        out.counts.update(_talent_pool(s, first_uid, out.counts["trainees"], province.id, out.rollup_year, seed, quiet,
                                       now))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # The planner's statistics of the loaded tables, as autovacuum leaves them a minute or two after a load
            # (issue 20: the 12-03 22:08 run's pool search started before autovacuum had analysed talent_entries and
            # was planned without statistics: p95 6.8 s, p99 28 s; in process on an analysed copy, p50 ~20 ms, p95 ~50 ms).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
    out.seconds = round(time.monotonic() - t0, 1)
    return out


def _raw_profile_table(table, encrypted=("id_number", "phone")):
    """The profiles table (or another: ``encrypted`` names its encrypted columns) with its encrypted columns as
    plain binary: values arrive already encrypted."""
    from sqlalchemy import Column, LargeBinary, MetaData, Table

    md = MetaData()
    cols = []
    for c in table.columns:
        if c.name in encrypted:
            cols.append(Column(c.name, LargeBinary))
        elif c.name != "id":
            cols.append(Column(c.name, c.type))
    return Table(table.name, md, *cols)


def _credit_records(s: Session, first_uid: int, n_people: int, n: int, seed: int, quiet: bool, year: int) -> int:
    """Credit records spread over the trainees: two thirds professional, 4 to 32 hours each, half of them in
    ``year`` (the year the roll-up closes) and half in the year after, as courses in this system award them
    (one unique source reference each). About five records a person a year: roughly 80 hours on average, so
    that some people meet the 90-hour rule and many do not."""
    from credits.models import CreditRecord

    table = CreditRecord.__table__
    rng = random.Random(seed + 11)
    pb = Progress("credit records", n, quiet)
    rows = []
    for i in range(n):
        rows.append({
            "user_id": first_uid + i % n_people, "year": year + (i // n_people) % 2,
            "hours": rng.choice((4, 8, 12, 16, 24, 32)),
            "subject_category": "professional" if rng.random() < 2 / 3 else "public", "source": "system",
            "source_ref": f"bench:{seed}:{i}", "title": "基准测试课程",
        })
        if len(rows) >= BATCH:
            _insert(s, table, rows)
            pb.add(len(rows))
            rows = []
    _insert(s, table, rows)
    pb.add(len(rows))
    return n


POOL_STATUSES = (("active", "certified", 80), ("warning", "missed_credits", 10), ("lapsed", "missed_credits", 5),
                 ("exited", "revoked_certificate", 5))  # percent of the pool
POOL_TIERS = (("basic", 60), ("advanced", 30), ("senior", 10))
# Appointment registrations (示例 shares, no seed states them): most pool members are their enterprise's CQO with
# an accepted registration (seed 002 (三) 登记管理), a few await review or were returned, the rest are certified
# people not (yet) appointed. The roll-up holds to the CE rule only people in office during the year
# (「首席质量官在任期内应按规定递交年度质量管理绩效报告或继续教育证明」), so without these rows no one is held
# and everyone is compliant.
POOL_APPOINTMENTS = (("accepted", 70), ("submitted", 4), ("returned", 2), (None, 24))  # percent of the pool
APPOINTMENT_ENDED = 0.08  # of the accepted: no longer in force (replaced, left) some time after the appointment


def _pick(table, k: int):
    for value, *rest, share in table:
        if k < share:
            return (value, *rest) if rest else value
        k -= share
    return table[-1][0]


def _talent_pool(s: Session, first_uid: int, n_people: int, province_id: int, year: int, seed: int, quiet: bool,
                 now: dt.datetime) -> dict:
    """A pool entry for every generated trainee (the issue's 200,000 people in training and in the pool), in
    the region of the trainee's enterprise, with statuses (80 % active, 10 % warning, 5 % lapsed, 5 % exited),
    tiers and some stars; the annual report of ``year`` for 85 % of them and the standing of the year before
    (80 % compliant), so that the roll-up moves people to warning, to lapsed and back to active; and their
    appointment registrations (``POOL_APPOINTMENTS``: who is in office, hence held to the rule, in ``year``),
    from a random stream of their own so that the rest of the data stays as it was."""
    from credits.models import AnnualReport, YearStanding
    from lms import pii
    from lms.orgs.models import Enterprise
    from lms.people.models import TraineeProfile
    from talent.models import Appointment, TalentEntry

    if not n_people:
        return {}
    ent_region = dict(s.execute(select(Enterprise.id, Enterprise.region_id)).all())
    ent_of = dict(s.execute(select(TraineeProfile.user_id, TraineeProfile.enterprise_id)
                            .where(TraineeProfile.user_id >= first_uid, TraineeProfile.user_id < first_uid + n_people)).all())
    rng = random.Random(seed + 13)
    arng = random.Random(seed + 17)  # appointments: a stream of their own
    fernet = pii._fernet()
    head_phone: dict[int, bytes] = {}  # one encrypted phone an enterprise, encrypted once
    empty = fernet.encrypt(b"")
    pb = Progress("talent pool", 4 * n_people, quiet)
    entered = dt.date(year - 3, 1, 1)
    entries, reports, prev, appointments = [], [], [], []
    for i in range(n_people):
        uid = first_uid + i
        status, cause = _pick(POOL_STATUSES, rng.randrange(100))
        ent = ent_of[uid]
        since = entered + dt.timedelta(days=rng.randrange(3 * 365))
        entries.append({"user_id": uid, "province_id": province_id, "region_id": ent_region[ent], "enterprise_id": ent,
                        "highest_tier": _pick(POOL_TIERS, rng.randrange(100)), "status": status, "status_cause": cause,
                        "status_since": since, "entered_on": since, "registration_due_on": None,
                        "stars": rng.randint(1, 5) if rng.random() < 0.4 else None, "grade": "", "updated_at": now})
        if rng.random() < 0.85:
            reports.append({"user_id": uid, "year": year, "summary": "基准年度履职报告。", "filed_on": dt.date(year, 12, 1),
                            "filed_at": now})
        ok = rng.random() < 0.8
        prev.append({"user_id": uid, "year": year - 1, "hours_total": 90.0 if ok else 40.0,
                     "hours_professional": 60.0 if ok else 30.0, "report_filed": ok, "compliant": ok, "computed_at": now})
        reg = _pick(POOL_APPOINTMENTS, arng.randrange(100))
        # Appointed from a year before the entry to a year and a half after it: the entries run from ``year`` - 3
        # to the end of ``year`` - 1, so some appointments start during ``year`` (their first year: exempt by
        # default) and a few after it (not in office that year).
        appointed = since + dt.timedelta(days=arng.randrange(-365, 540))
        ended = (appointed + dt.timedelta(days=arng.randrange(180, 1100))
                 if reg == "accepted" and arng.random() < APPOINTMENT_ENDED else None)
        if reg is None:
            continue
        if ent not in head_phone:
            head_phone[ent] = fernet.encrypt(f"1390000{ent % 10_000:04d}".encode())
        appointments.append({
            "user_id": uid, "enterprise_id": ent, "kind": "initial", "appointed_on": appointed, "ended_on": ended,
            "enterprise_head": "基准法定代表人", "enterprise_head_phone": head_phone[ent], "quality_head": "",
            "quality_head_phone": empty, "cv": "基准履历。", "awards": "", "opinion": "同意聘任。", "opinion_date": appointed,
            "letter_path": "bench/letter.pdf", "letter_name": "聘任书.pdf", "letter_mime": "application/pdf",
            "status": reg, "late": False, "review_reason": "" if reg != "returned" else "基准：材料不全。",
            "reviewer_id": None, "reviewed_at": now if reg != "submitted" else None,
            "submitted_on": appointed + dt.timedelta(days=7), "submitted_at": now, "filed_by_id": None,
            "confirmed_at": None})
    for table, rows in ((TalentEntry.__table__, entries), (AnnualReport.__table__, reports), (YearStanding.__table__, prev),
                        (_raw_profile_table(Appointment.__table__, ("enterprise_head_phone", "quality_head_phone")),
                         appointments)):
        for batch in _batched(rows):
            _insert(s, table, batch)
            pb.add(len(batch) * n_people // max(len(rows), 1))
    return {"talent_entries": len(entries), "annual_reports": len(reports), "previous_standings": len(prev),
            "appointments": len(appointments),
            "appointments_accepted": sum(1 for a in appointments if a["status"] == "accepted")}


def prepare_database(app, today: dt.date | None = None) -> None:
    """Create the schema from the models, make a signing key and seed the demo data."""
    from certificates import keys as keystore
    from lms import demo
    from lms.db import Base, db
    from lms.features import import_models

    import_models()
    with app.app_context():
        engine = db.engine
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        keystore.ensure_key(app.config["CERT_KEY_DIR"], today or dt.date.today())
        with db.job_session() as s:
            demo.seed(s, today or dt.date.today())
