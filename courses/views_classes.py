"""Pages for classes (培训班): list, open and edit, timetable, applications and decisions, the trainee's page."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from courses import eligibility, enrolment, gates, services
from courses.checkin import rates
from courses.forms import ApplyForm, ClassForm, DecisionForm, EmptyForm, SessionForm
from courses.models import (
    AttendanceRecord, ClassSession, Enrollment, EnrollmentStatus, Programme, TrainingClass,
)
from courses.views import bp, q_arg
from lms.auth.models import User
from lms.auth.views import roles_required
from lms.db import db, utcnow
from lms.domain import Role, Tier
from lms.errors import DomainError, ValidationFailed
from lms.forms import apply_errors
from lms.orgs.models import Region
from lms.people import services as people_services
from lms.people.models import TraineeProfile
from lms.scoping import get_visible, visible
from lms.templating import paginate, today_local

STAFF = (Role.institution_staff,)


@bp.route("/classes")
@login_required
def classes():
    stmt = visible(TrainingClass, current_user).join(Programme, Programme.id == TrainingClass.programme_id)
    if q := q_arg():
        stmt = stmt.where(or_(TrainingClass.name.contains(q), TrainingClass.place.contains(q)))
    if (tier := request.args.get("tier")) in Tier.__members__:
        stmt = stmt.where(Programme.tier == Tier(tier))
    today = today_local()
    state = request.args.get("state", "")
    if state == "open":
        stmt = stmt.where(TrainingClass.enrol_opens_on <= today, TrainingClass.enrol_closes_on >= today)
    elif state == "running":
        stmt = stmt.where(TrainingClass.start_date <= today, TrainingClass.end_date >= today)
    elif state == "ended":
        stmt = stmt.where(TrainingClass.end_date < today)
    if current_user.role == Role.trainee:
        stmt = stmt.where(*gates.enrollable_conditions())  # a class not yet cleared (e.g. filed) is not on offer
    if current_user.role == Role.trainee and not state:
        stmt = stmt.where(TrainingClass.end_date >= today)  # trainees look for classes to join
    page = paginate(db.session, stmt.order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc()))
    return render_template("courses/classes.html", page=page, q=q, Tier=Tier, state=state, today=today,
                           can_open=current_user.role == Role.institution_staff)


def _class_form(klass=None) -> ClassForm:
    form = ClassForm(obj=klass)
    inst = current_user.institution
    today = today_local()
    tiers = inst.tiers_in_force(today) if inst else []
    province = inst.region.path.split("/")[0] if inst else ""
    progs = db.session.scalars(select(Programme).join(Region, Region.id == Programme.province_id).where(
        Region.code == province, Programme.tier.in_(tiers or [None])).order_by(Programme.year.desc(), Programme.tier))
    form.programme_id.choices = [(p.id, f"{p.year} {p.name}") for p in progs]
    regions = db.session.scalars(select(Region).where(Region.path.startswith(inst.region.path)).order_by(Region.path)) if inst else []
    form.region_id.choices = [(r.id, r.name) for r in regions]
    return form


@bp.route("/classes/new", methods=["GET", "POST"])
@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def class_edit(class_id: int | None = None):
    klass = get_visible(db.session, TrainingClass, class_id, current_user) if class_id else None
    form = _class_form(klass)
    if form.validate_on_submit():
        data = services.ClassData(**{f: getattr(form, f).data for f in (
            "programme_id", "region_id", "name", "place", "start_date", "end_date", "capacity", "enrol_opens_on",
            "enrol_closes_on", "teachers")})
        try:
            klass = services.save_class(db.session, current_user, data, today_local(), klass)
        except DomainError as exc:
            db.session.rollback()
            if isinstance(exc, ValidationFailed):
                apply_errors(form, exc)
            else:
                form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("培训班已保存，请添加课表"), "success")
            return redirect(url_for("courses.class_detail", class_id=klass.id))
    return render_template("courses/class_form.html", form=form, klass=klass)


@bp.route("/classes/<int:class_id>", methods=["GET", "POST"])
@login_required
def class_detail(class_id: int):
    klass = get_visible(db.session, TrainingClass, class_id, current_user)
    is_owner = current_user.role == Role.institution_staff and current_user.institution_id == klass.institution_id
    form = SessionForm()
    form.course_id.choices = [(0, _("（不指定）"))] + [(c.id, c.title) for c in klass.programme.courses]
    if is_owner and form.validate_on_submit():
        data = services.SessionData(date=form.date.data, start_time=form.start_time.data, end_time=form.end_time.data,
                                    place=form.place.data or "", topic=form.topic.data,
                                    course_id=form.course_id.data or None,
                                    hours=float(form.hours.data) if form.hours.data else None)
        try:
            services.add_session(db.session, current_user, klass, data)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("课次已添加"), "success")
            return redirect(url_for("courses.class_detail", class_id=klass.id))
    elif request.method == "GET":
        form.date.data = max(klass.start_date, min(today_local(), klass.end_date))
    mine = None
    if current_user.role == Role.trainee:
        mine = db.session.scalar(select(Enrollment).where(Enrollment.class_id == klass.id,
                                                         Enrollment.user_id == current_user.id))
    counts = {s.value: db.session.scalar(select(func.count(Enrollment.id)).where(Enrollment.class_id == klass.id, Enrollment.status == s))
              for s in EnrollmentStatus}
    return render_template("courses/class_detail.html", klass=klass, form=form, is_owner=is_owner, mine=mine,
                           counts=counts, today=today_local(), open=enrolment.enrolment_open(klass, today_local()),
                           empty=EmptyForm(), rates=rates(db.session, mine, utcnow()) if mine and mine.status == EnrollmentStatus.approved else None,
                           gate_message=gates.refusal(db.session, klass, gates.ENROL))


@bp.route("/sessions/<int:session_id>/delete", methods=["POST"])
@roles_required(*STAFF)
def session_delete(session_id: int):
    cs = get_visible(db.session, ClassSession, session_id, current_user)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            services.delete_session(db.session, current_user, cs)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("课次已删除"), "info")
    return redirect(url_for("courses.class_detail", class_id=cs.class_id))


# ------------------------------------------------------------------ applying
@bp.route("/classes/<int:class_id>/apply", methods=["GET", "POST"])
@roles_required(Role.trainee)
def apply(class_id: int):
    klass = get_visible(db.session, TrainingClass, class_id, current_user)
    pledge = people_services.current_pledge(db.session)
    form = ApplyForm(pledge_version=pledge.version)
    evaluation = eligibility.evaluate(db.session, current_user, klass.programme, today_local())
    if form.validate_on_submit():
        try:
            enrolment.apply(db.session, current_user, klass, pledge_version=form.pledge_version.data,
                            today=today_local())
        except enrolment.NotEligible as exc:
            db.session.rollback()
            evaluation = exc.evaluation
            form.form_errors.append(_("不符合报名条件，未提交报名。请查看下方未满足的条件。"))
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("报名已提交，请等待培训机构审核"), "success")
            return redirect(url_for("courses.my"))
    return render_template("courses/apply.html", klass=klass, form=form, pledge=pledge, evaluation=evaluation,
                           open=enrolment.enrolment_open(klass, today_local()))


@bp.route("/enrollments/<int:enrollment_id>/withdraw", methods=["POST"])
@roles_required(Role.trainee)
def withdraw(enrollment_id: int):
    e = get_visible(db.session, Enrollment, enrollment_id, current_user)
    if EmptyForm().validate_on_submit():
        try:
            enrolment.withdraw(db.session, current_user, e, today_local())
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("已退出该培训班"), "info")
    return redirect(url_for("courses.my"))


# ------------------------------------------------------------------ deciding
@bp.route("/classes/<int:class_id>/enrollments")
@roles_required(Role.institution_staff, Role.regulator_admin, Role.system_admin)
def enrollments(class_id: int):
    klass = get_visible(db.session, TrainingClass, class_id, current_user)
    stmt = (visible(Enrollment, current_user).where(Enrollment.class_id == klass.id)
            .join(User, User.id == Enrollment.user_id))
    if q := q_arg():
        stmt = stmt.where(or_(User.display_name.contains(q), User.username == q))
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
    return _decide(enrollment_id, "approve")


@bp.route("/enrollments/<int:enrollment_id>/reject", methods=["POST"])
@roles_required(*STAFF)
def reject(enrollment_id: int):
    return _decide(enrollment_id, "reject")


def _decide(enrollment_id: int, action: str):
    e = get_visible(db.session, Enrollment, enrollment_id, current_user)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            if action == "approve":
                enrolment.approve(db.session, current_user, e, utcnow())
            else:
                enrolment.reject(db.session, current_user, e, form.reason.data, utcnow())
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            msg = {EnrollmentStatus.approved: _("已录取"), EnrollmentStatus.waitlisted: _("培训班已满，已列入候补"),
                   EnrollmentStatus.rejected: _("已不予录取")}.get(e.status, _("已处理"))
            flash(f"{e.user.display_name}：{msg}", "success")
    else:
        flash(_("请求无效，请刷新页面后重试"), "danger")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("courses.enrollments", class_id=e.class_id))


# ------------------------------------------------------------------ the trainee's page
@bp.route("/my")
@roles_required(Role.trainee)
def my():
    stmt = visible(Enrollment, current_user).order_by(Enrollment.applied_at.desc())
    if (st := request.args.get("status")) in EnrollmentStatus.__members__:
        stmt = stmt.where(Enrollment.status == EnrollmentStatus(st))
    page = paginate(db.session, stmt)
    now = utcnow()
    info = {}
    for e in page.items:
        if e.status == EnrollmentStatus.approved:
            records = {r.session_id: r for r in db.session.scalars(
                select(AttendanceRecord).where(AttendanceRecord.enrollment_id == e.id))}
            info[e.id] = {
                "rates": rates(db.session, e, now),
                "records": records,
                "progress": services.programme_progress(db.session, current_user, e.training_class.programme),
            }
    return render_template("courses/my.html", page=page, info=info, Status=EnrollmentStatus, now=now,
                           form=EmptyForm(), today=today_local())
