"""Pages for enrolment: applying and withdrawing, the staff's list of applications and decisions, and the
trainee's own page of classes."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from courses import eligibility, services
from courses.attendance import rates
from courses.forms import ApplyForm, DecisionForm, EmptyForm
from courses.models import AttendanceRecord, Enrollment, EnrollmentStatus, TrainingClass
from courses.services import enrolment
from courses.views import STAFF, VIEWERS, bp, q_arg
from lms.auth.models import User
from lms.auth.views import roles_required
from lms.db import db, utcnow
from lms.domain import Role
from lms.errors import DomainError
from lms.forms import submit
from lms.people import services as people_services
from lms.people.models import TraineeProfile
from lms.redirects import safe_referrer
from lms.scoping import get_visible, visible
from lms.templating import paginate, today_local


def _apply(klass: TrainingClass, form: ApplyForm, found: dict) -> Enrollment:
    try:
        return enrolment.apply(db.session, current_user, klass, pledge_version=form.pledge_version.data,
                               today=today_local())
    except enrolment.NotEligible as exc:  # the page lists every unmet condition below the form
        found["evaluation"] = exc.evaluation
        raise DomainError(_("不符合报名条件，未提交报名。请查看下方未满足的条件。")) from exc


@bp.route("/classes/<int:class_id>/apply", methods=["GET", "POST"])
@roles_required(Role.trainee)
def apply(class_id: int):
    """Apply to a class: the eligibility conditions, the pledge, and the application."""
    klass = get_visible(db.session, TrainingClass, class_id, current_user)
    pledge = people_services.current_pledge(db.session)
    form = ApplyForm(pledge_version=pledge.version)
    found = {"evaluation": eligibility.evaluate(db.session, current_user, klass.programme, today_local())}
    if form.validate_on_submit():
        done = submit(form, lambda: _apply(klass, form, found), success=_("报名已提交，请等待培训机构审核"),
                      redirect_to=url_for("courses.my"), domain_errors="form")
        if done:
            return done
    return render_template("courses/apply.html", klass=klass, form=form, pledge=pledge, evaluation=found["evaluation"],
                           today=today_local(), is_enrolment_open=services.is_enrolment_open)


@bp.route("/enrollments/<int:enrollment_id>/withdraw", methods=["POST"])
@roles_required(Role.trainee)
def withdraw(enrollment_id: int):
    """The trainee withdraws before the class starts."""
    e = get_visible(db.session, Enrollment, enrollment_id, current_user)
    if EmptyForm().validate_on_submit():
        submit(None, lambda: enrolment.withdraw(db.session, current_user, e, today_local()), success=_("已退出该培训班"))
    return redirect(url_for("courses.my"))


@bp.route("/classes/<int:class_id>/enrollments")
@roles_required(*VIEWERS)
def enrollments(class_id: int):
    """A class's applications and enrolments, with the admitted trainees' attendance rates."""
    klass = get_visible(db.session, TrainingClass, class_id, current_user)
    stmt = (visible(Enrollment, current_user).where(Enrollment.class_id == klass.id)
            .join(User, User.id == Enrollment.user_id))
    if q := q_arg():
        stmt = stmt.where(or_(User.display_name.contains(q, autoescape=True), User.username == q))
    if (st := request.args.get("status")) in EnrollmentStatus.__members__:
        stmt = stmt.where(Enrollment.status == EnrollmentStatus(st))
    page = paginate(db.session, stmt.order_by(Enrollment.status, Enrollment.waitlist_position, Enrollment.applied_at))
    now = utcnow()
    enrollment_rates = {e.id: rates(db.session, e, now) for e in page.items if e.status == EnrollmentStatus.approved}
    profiles = {p.user_id: p for p in db.session.scalars(visible(TraineeProfile, current_user).where(
        TraineeProfile.user_id.in_([e.user_id for e in page.items])))}
    return render_template("courses/enrollments.html", klass=klass, page=page, q=q, Status=EnrollmentStatus,
                           rates=enrollment_rates, profiles=profiles, form=DecisionForm(),
                           can_decide=current_user.role == Role.institution_staff)


@bp.route("/enrollments/<int:enrollment_id>/approve", methods=["POST"])
@roles_required(*STAFF)
def approve(enrollment_id: int):
    """Admit an applicant (or put them on the waiting list when the class is full)."""
    return _decide(enrollment_id, lambda e, form: enrolment.approve(db.session, current_user, e, utcnow()))


@bp.route("/enrollments/<int:enrollment_id>/reject", methods=["POST"])
@roles_required(*STAFF)
def reject(enrollment_id: int):
    """Turn an applicant down, with a reason they see."""
    return _decide(enrollment_id, lambda e, form: enrolment.reject(db.session, current_user, e, form.reason.data, utcnow()))


def _decided(e: Enrollment, back: str) -> str:
    """Say what the decision came to (admitted, waitlisted, turned down), then go back to the list."""
    msg = {EnrollmentStatus.approved: _("已录取"), EnrollmentStatus.waitlisted: _("培训班已满，已列入候补"),
           EnrollmentStatus.rejected: _("已不予录取")}.get(e.status, _("已处理"))
    flash(f"{e.user.display_name}：{msg}", "success")
    return back


def _decide(enrollment_id: int, decide):
    e = get_visible(db.session, Enrollment, enrollment_id, current_user)
    back = safe_referrer() or url_for("courses.enrollments", class_id=e.class_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("请求无效，请刷新页面后重试"), "danger")
        return redirect(back)
    return submit(None, lambda: decide(e, form), redirect_to=lambda done: _decided(done, back)) or redirect(back)


@bp.route("/my")
@roles_required(Role.trainee)
def my():
    """The trainee's enrolments, with timetable, attendance and progress for the admitted ones."""
    stmt = visible(Enrollment, current_user).order_by(Enrollment.applied_at.desc())
    if (st := request.args.get("status")) in EnrollmentStatus.__members__:
        stmt = stmt.where(Enrollment.status == EnrollmentStatus(st))
    page = paginate(db.session, stmt)
    now = utcnow()
    info = {e.id: _my_enrolment(e, now) for e in page.items if e.status == EnrollmentStatus.approved}
    return render_template("courses/my.html", page=page, info=info, Status=EnrollmentStatus, now=now,
                           form=EmptyForm(), today=today_local())


def _my_enrolment(e: Enrollment, now) -> dict:
    records = {r.session_id: r for r in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.enrollment_id == e.id))}
    return {"rates": rates(db.session, e, now), "records": records,
            "progress": services.class_progress(db.session, current_user, e.training_class)}
