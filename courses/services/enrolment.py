"""Enrolment: when it is open, apply (eligibility, prerequisite, pledge), approve or reject with a reason, the waiting list,
withdrawal before the class starts."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from courses import eligibility, gates
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from courses.services.access import require_class_staff
from lms import audit
from lms.db import utcnow
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.notifications.services import link, notify
from lms.people import services as people_services

ACTIVE = (EnrollmentStatus.applied, EnrollmentStatus.approved, EnrollmentStatus.waitlisted)


class NotEligible(DomainError):
    """The applicant does not meet the rules; ``evaluation`` lists every condition, met or not."""

    status = 422

    def __init__(self, evaluation: eligibility.Evaluation) -> None:
        unmet = "；".join(f"{c.label}（{c.detail}）" for c in evaluation.unmet)
        super().__init__(_("不符合报名条件：%(unmet)s", unmet=unmet))
        self.evaluation = evaluation


def is_enrolment_open(klass: TrainingClass, today: dt.date) -> bool:
    """Is the class's enrolment window open on ``today`` (the rule; ``enrolment_open_condition`` is its SQL form)."""
    return klass.enrol_opens_on <= today <= klass.enrol_closes_on


def enrolment_open_condition(today: dt.date) -> ColumnElement[bool]:
    """``is_enrolment_open`` as a SQL condition on TrainingClass, for lists (the same rule, in the same place)."""
    return and_(TrainingClass.enrol_opens_on <= today, TrainingClass.enrol_closes_on >= today)


def approved_count(session: Session, klass: TrainingClass) -> int:
    """How many places of the class are taken (approved enrolments)."""
    return session.scalar(select(func.count(Enrollment.id)).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.approved)) or 0


def apply(session: Session, user, klass: TrainingClass, *, pledge_version: str | None, today: dt.date) -> Enrollment:
    """A trainee applies to a class: the class must pass its gates (filed with and accepted by the bureau),
    the enrolment window must be open, the eligibility rules and the
    prerequisite met (all unmet conditions are reported together), and the integrity pledge signed
    (context "enrolment"). A previous rejected or withdrawn application is reopened, not duplicated."""
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员可以报名"))
    gates.check(session, klass, gates.ENROL)
    if not is_enrolment_open(klass, today):
        raise DomainError(_("报名时间为 %(a)s 至 %(b)s，当前不在报名时间内", a=klass.enrol_opens_on, b=klass.enrol_closes_on))
    existing = session.scalar(select(Enrollment).where(Enrollment.class_id == klass.id, Enrollment.user_id == user.id))
    if existing is not None and existing.status in ACTIVE:
        raise Conflict(_("您已报名该培训班（状态：%(s)s）", s=existing.status.label))
    ev = eligibility.evaluate(session, user, klass.programme, today)
    if not ev.eligible:
        raise NotEligible(ev)
    if not pledge_version:
        raise ValidationFailed({"accept_pledge": _("报名须阅读并签署质量诚信承诺书")})
    people_services.sign_pledge(session, user, pledge_version, "enrolment")
    enrollment = existing or Enrollment(class_id=klass.id, user_id=user.id)
    enrollment.status = EnrollmentStatus.applied
    enrollment.applied_at = utcnow()
    enrollment.decided_at = enrollment.decided_by_id = None
    enrollment.decision_reason = ""
    enrollment.waitlist_position = None
    enrollment.eligibility = {**ev.as_dict(), "rule_set": eligibility.rule_snapshot(session, klass.programme.eligibility_rule_set)}
    session.add(enrollment)
    session.flush()
    audit.record(session, user, "enrollment.apply", enrollment, class_id=klass.id)
    return enrollment


def _record_decision_rules(session: Session, enrollment: Enrollment, now: dt.datetime) -> None:
    """Keep with the decision the rule set it was made under: editing the set later changes open
    applications only (issue 15: "applications already decided keep the rule they were decided by")."""
    rule_set = enrollment.training_class.programme.eligibility_rule_set
    enrollment.eligibility = {**(enrollment.eligibility or {}),
                              "decided_under": eligibility.rule_snapshot(session, rule_set), "decided_at": now.isoformat()}


def _next_waitlist_position(session: Session, klass: TrainingClass) -> int:
    return (session.scalar(select(func.max(Enrollment.waitlist_position)).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.waitlisted)) or 0) + 1


def approve(session: Session, actor, enrollment: Enrollment, now: dt.datetime) -> Enrollment:
    """Approve an application. If the class is full the applicant goes to the end of the waiting list
    instead, and moves up when a place frees."""
    klass = enrollment.training_class
    require_class_staff(actor, klass, message=_("只有开班机构的工作人员可以审核报名"))
    gates.check(session, klass, gates.ENROL)
    if enrollment.status not in (EnrollmentStatus.applied, EnrollmentStatus.waitlisted):
        raise DomainError(_("只能审核待审核或候补中的报名（当前：%(s)s）", s=enrollment.status.label))
    enrollment.decided_at, enrollment.decided_by_id, enrollment.decision_reason = now, actor.id, ""
    _record_decision_rules(session, enrollment, now)
    if approved_count(session, klass) >= klass.capacity:
        if enrollment.status != EnrollmentStatus.waitlisted:
            enrollment.status = EnrollmentStatus.waitlisted
            enrollment.waitlist_position = _next_waitlist_position(session, klass)
        audit.record(session, actor, "enrollment.waitlist", enrollment, position=enrollment.waitlist_position)
        _tell(session, enrollment, _("报名进入候补：%(c)s", c=klass.name),
              _("培训班名额已满，您在候补名单第 %(n)d 位，有空位时将自动录取。", n=enrollment.waitlist_position))
    else:
        enrollment.status = EnrollmentStatus.approved
        enrollment.waitlist_position = None
        audit.record(session, actor, "enrollment.approve", enrollment)
        _tell_admitted(session, enrollment)
    session.flush()
    _renumber(session, klass)
    return enrollment


def _tell(session: Session, enrollment: Enrollment, title: str, body: str) -> None:
    """Tell the trainee about a decision on their application, with a link to their enrolments."""
    notify(session, enrollment.user_id, "enrollment", title, body, link("courses.my"))


def _tell_admitted(session: Session, enrollment: Enrollment) -> None:
    """Tell the trainee they were admitted (approved, or moved up from the waiting list)."""
    klass = enrollment.training_class
    _tell(session, enrollment, _("报名已录取：%(c)s", c=klass.name),
          _("您已被录取参加“%(c)s”，培训时间 %(a)s 至 %(b)s。", c=klass.name, a=klass.start_date, b=klass.end_date))


def reject(session: Session, actor, enrollment: Enrollment, reason: str, now: dt.datetime) -> Enrollment:
    """Reject an application, or take someone off the waiting list, with a reason the trainee sees."""
    klass = enrollment.training_class
    require_class_staff(actor, klass, message=_("只有开班机构的工作人员可以审核报名"))
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 500:
        raise ValidationFailed({"reason": _("请填写 2-500 字的不录取原因")})
    if enrollment.status not in (EnrollmentStatus.applied, EnrollmentStatus.waitlisted, EnrollmentStatus.approved):
        raise DomainError(_("该报名已是“%(s)s”状态", s=enrollment.status.label))
    if enrollment.status == EnrollmentStatus.approved and klass.start_date <= now.date():
        raise DomainError(_("培训班已开始，不能取消已录取学员"))
    was_approved = enrollment.status == EnrollmentStatus.approved
    enrollment.status = EnrollmentStatus.rejected
    enrollment.decided_at, enrollment.decided_by_id, enrollment.decision_reason = now, actor.id, reason
    _record_decision_rules(session, enrollment, now)
    enrollment.waitlist_position = None
    session.flush()
    audit.record(session, actor, "enrollment.reject", enrollment)
    _tell(session, enrollment, _("报名未录取：%(c)s", c=klass.name), _("原因：%(r)s", r=reason))
    if was_approved:
        promote_waitlist(session, actor, klass)
    _renumber(session, klass)
    return enrollment


def withdraw(session: Session, user, enrollment: Enrollment, today: dt.date) -> Enrollment:
    """The trainee withdraws before the class starts; a freed place goes to the first on the waiting list."""
    if enrollment.user_id != user.id:
        raise Forbidden(_("只能退出自己的报名"))
    if enrollment.status not in ACTIVE:
        raise DomainError(_("该报名已是“%(s)s”状态", s=enrollment.status.label))
    klass = enrollment.training_class
    if today >= klass.start_date:
        raise DomainError(_("培训班已于 %(d)s 开始，不能再退出", d=klass.start_date))
    was_approved = enrollment.status == EnrollmentStatus.approved
    enrollment.status = EnrollmentStatus.withdrawn
    enrollment.waitlist_position = None
    session.flush()
    audit.record(session, user, "enrollment.withdraw", enrollment)
    if was_approved:
        promote_waitlist(session, user, klass)
    _renumber(session, klass)
    return enrollment


def promote_waitlist(session: Session, actor, klass: TrainingClass) -> list[Enrollment]:
    """Move people from the head of the waiting list into free places, in order."""
    moved = []
    while approved_count(session, klass) < klass.capacity:
        head = session.scalar(select(Enrollment).where(
            Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.waitlisted,
        ).order_by(Enrollment.waitlist_position, Enrollment.id).limit(1))
        if head is None:
            break
        head.status = EnrollmentStatus.approved
        head.waitlist_position = None
        session.flush()
        audit.record(session, actor, "enrollment.promote", head)
        _tell_admitted(session, head)
        moved.append(head)
    _renumber(session, klass)
    return moved


def _renumber(session: Session, klass: TrainingClass) -> None:
    """Number the waiting list 1..n in its order, without gaps."""
    rows = session.scalars(select(Enrollment).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.waitlisted,
    ).order_by(Enrollment.waitlist_position, Enrollment.id)).all()
    for i, e in enumerate(rows, 1):
        e.waitlist_position = i
    session.flush()
