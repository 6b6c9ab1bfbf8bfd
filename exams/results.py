"""Results: the counting result of a trainee in an exam (online or offline), what other packages ask
(``exam_outcome``), the completion rule, and offline (paper) results entered by staff."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses.models import Enrollment, TrainingClass
from exams.models import CountingRule, Exam, ExamResult, ExamStatus, ResultSource
from exams.papers import can_manage_exam
from exams.services import enrollment_for
from lms import audit
from lms.auth.models import User
from lms.completion import RuleResult
from lms.db import utcnow
from lms.errors import Forbidden, ValidationFailed
from lms.settingbasis import basis_label


@dataclass(frozen=True)
class ExamOutcome:
    exam_id: int
    exam_title: str
    score: float
    passed: bool
    pass_mark: float
    source: str  # "online" or "offline"
    taken_at: dt.datetime


def counting_result(results: list[ExamResult], rule: CountingRule) -> ExamResult | None:
    """Among one trainee's results in one exam: the highest score, or the latest taken (ties: latest recorded)."""
    if not results:
        return None
    if rule == CountingRule.highest:
        return max(results, key=lambda r: (r.score, r.taken_at, r.id))
    return max(results, key=lambda r: (r.taken_at, r.recorded_at, r.id))


def exams_of_enrollment(session: Session, enrollment: Enrollment) -> list[Exam]:
    """Published exams that count for completion of the enrolment's class (or its programme at that institution)."""
    return exams_of_class(session, enrollment.training_class)


def exams_of_class(session: Session, cls: TrainingClass) -> list[Exam]:
    """Published exams that count for completion of the class (or its programme at that institution)."""
    stmt = select(Exam).where(Exam.counts_for_completion.is_(True), Exam.status == ExamStatus.published,
                              (Exam.class_id == cls.id) | (Exam.class_id.is_(None) & (Exam.programme_id == cls.programme_id)
                                                          & (Exam.institution_id == cls.institution_id)))
    return list(session.scalars(stmt.order_by(Exam.closes_at, Exam.id)))


def exam_outcome(session: Session, enrollment: Enrollment) -> ExamOutcome | None:
    """The enrolment's counting exam result, or None when it has none yet. With several counting exams, a
    passed one wins, else the latest one's result."""
    exams = exams_of_enrollment(session, enrollment)
    return _best_outcome(exams, lambda exam: list(session.scalars(select(ExamResult).where(
        ExamResult.exam_id == exam.id, ExamResult.user_id == enrollment.user_id))))


def _best_outcome(exams: list[Exam], results_of) -> ExamOutcome | None:
    best: ExamOutcome | None = None
    for exam in exams:
        r = counting_result(results_of(exam), exam.counting)
        if r is None:
            continue
        outcome = ExamOutcome(exam.id, exam.title, r.score, r.passed, exam.effective_pass_mark, r.source.value,
                              r.taken_at)
        if best is None or (outcome.passed and not best.passed) or (outcome.passed == best.passed):
            best = outcome
    return best


def exam_rule(session: Session, enrollment: Enrollment) -> RuleResult:
    """Completion needs the counting exam result (online or offline) at or above the pass mark."""
    outcome = exam_outcome(session, enrollment)
    basis = basis_label(session, session.get(Exam, outcome.exam_id), "effective_pass_mark") if outcome else ""
    return _exam_result(outcome, basis)


def _exam_result(outcome: ExamOutcome | None, basis: str) -> RuleResult:
    label = _("考试合格")
    if outcome is None:
        return RuleResult("exam", label, False, _("尚无考试成绩"))
    source = _("线下纸笔考试") if outcome.source == ResultSource.offline.value else _("在线考试")
    detail = _("%(src)s成绩 %(s)s 分，及格线 %(p)s 分", src=source, s=f"{outcome.score:g}", p=f"{outcome.pass_mark:g}")
    return RuleResult("exam", label, outcome.passed, detail + basis)


def exam_many(session: Session, enrollments: list[Enrollment]) -> dict[int, RuleResult]:
    """``exam_rule`` for a batch (issuing in bulk, issue 20): per class, its counting exams once and every
    holder's results in them in one statement; each exam's basis looked up once."""
    out: dict[int, RuleResult] = {}
    classes: dict[int, list[Enrollment]] = {}
    for e in enrollments:
        classes.setdefault(e.class_id, []).append(e)
    bases: dict[int, str] = {}
    for group in classes.values():
        exams = exams_of_class(session, group[0].training_class)
        rows: dict[tuple[int, int], list[ExamResult]] = {}
        if exams:
            for r in session.scalars(select(ExamResult).where(ExamResult.exam_id.in_([x.id for x in exams]),
                                                              ExamResult.user_id.in_([e.user_id for e in group]))):
                rows.setdefault((r.exam_id, r.user_id), []).append(r)
        for e in group:
            outcome = _best_outcome(exams, lambda exam, uid=e.user_id: rows.get((exam.id, uid), []))
            if outcome is not None and outcome.exam_id not in bases:
                bases[outcome.exam_id] = basis_label(session, session.get(Exam, outcome.exam_id), "effective_pass_mark")
            out[e.id] = _exam_result(outcome, bases[outcome.exam_id] if outcome else "")
    return out


def real_name(user: User) -> str:
    """The trainee's real name from the profile (the display name for accounts without one)."""
    profiles = getattr(user, "trainee_profile", None)
    if isinstance(profiles, list):
        profiles = profiles[0] if profiles else None
    return profiles.real_name if profiles is not None else user.display_name


def record_offline_result(session: Session, user, exam: Exam, username: str, score: float | None,
                          note: str = "", taken_on: dt.date | None = None, name: str | None = None) -> ExamResult:
    """Enter the result of a paper exam held offline for one trainee of the exam's audience. It becomes a
    result record like an online one and counts by the same rule."""
    if not can_manage_exam(user, exam):
        raise Forbidden(_("您不能录入这场考试的成绩"))
    errors = {}
    trainee = session.scalar(select(User).where(User.username == (username or "").strip()))
    enrollment = enrollment_for(session, exam, trainee) if trainee is not None else None
    if enrollment is None:
        errors["username"] = _("「学员账号」不是本考试所属培训班的已录取学员")
    elif name and name.strip() not in (trainee.display_name, real_name(trainee)):
        errors["name"] = _("「姓名」与该账号的学员不一致")
    if score is None or not 0 <= score <= 100:
        errors["score"] = _("「成绩」须在 0 到 100 之间")
    if errors:
        raise ValidationFailed(errors)
    when = dt.datetime.combine(taken_on, dt.time(12), tzinfo=dt.timezone.utc) if taken_on else utcnow()
    result = ExamResult(exam_id=exam.id, user_id=trainee.id, enrollment_id=enrollment.id, attempt_id=None,
                        source=ResultSource.offline, score=round(float(score), 1),
                        passed=round(float(score), 1) >= exam.effective_pass_mark, taken_at=when, recorded_at=utcnow(),
                        recorded_by_id=user.id, note=(note or "").strip())
    session.add(result)
    session.flush()
    audit.record(session, user, "exam_result.offline", result, exam_id=exam.id)
    return result
