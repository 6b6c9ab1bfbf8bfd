"""Pages for classes (培训班): the list, opening and editing one, its page with the timetable."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from courses import gates, queries, services
from courses.attendance import rates
from courses.forms import ClassForm, EmptyForm, SessionForm
from courses.models import ClassSession, Enrollment, EnrollmentStatus, Lesson, TrainingClass
from courses.services import plans
from courses.views import STAFF, bp, q_arg
from lms.auth.views import roles_required
from lms.db import db, utcnow
from lms.domain import Role, Tier
from lms.forms import choices, submit
from lms.orgs.models import Region
from lms.scoping import get_visible
from lms.templating import paginate, today_local


@bp.route("/classes")
@login_required
def classes():
    """The classes the user sees, filtered by text, tier and state (``queries.class_list``)."""
    q, state, today = q_arg(), request.args.get("state", ""), today_local()
    stmt = queries.class_list(current_user, today, q=q, tier=request.args.get("tier"), state=state)
    return render_template("courses/classes.html", page=paginate(db.session, stmt), q=q, Tier=Tier, state=state,
                           today=today, is_enrolment_open=services.is_enrolment_open,
                           can_open=current_user.role == Role.institution_staff)


def _class_form(klass=None) -> ClassForm:
    form = ClassForm(obj=klass)
    inst = current_user.institution
    tiers = inst.tiers_in_force(today_local()) if inst else []
    progs = plans.programmes_offered(db.session, inst.region, tiers) if inst else []
    form.programme_id.choices = choices((p.id, plans.programme_label(p)) for p in progs)
    lines = plans.open_lines(db.session, inst.region) if inst else []
    form.plan_line_id.choices = choices([(0, _("（不属于培训计划）"))] + [(ln.id, plans.line_label(ln)) for ln in lines])
    if request.method == "GET" and klass is not None:
        form.plan_line_id.data = klass.plan_line_id or 0
    regions = db.session.scalars(select(Region).where(Region.path.startswith(inst.region.path)).order_by(Region.path)) if inst else []
    form.region_id.choices = choices((r.id, r.name) for r in regions)
    return form


@bp.route("/classes/new", methods=["GET", "POST"])
@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def class_edit(class_id: int | None = None):
    """Open a class, or edit one of the institution's."""
    klass = get_visible(db.session, TrainingClass, class_id, current_user) if class_id else None
    form = _class_form(klass)
    if form.validate_on_submit():
        data = services.ClassData(**{f: getattr(form, f).data for f in (
            "programme_id", "region_id", "name", "place", "start_date", "end_date", "capacity", "enrol_opens_on",
            "enrol_closes_on", "teachers")}, plan_line_id=form.plan_line_id.data or None)
        done = submit(form, lambda: services.save_class(db.session, current_user, data, today_local(), klass),
                      success=_("培训班已保存，请添加课表"), domain_errors="form",
                      redirect_to=lambda k: url_for("courses.class_detail", class_id=k.id))
        if done:
            return done
    return render_template("courses/class_form.html", form=form, klass=klass)


def _session_form(klass: TrainingClass) -> SessionForm:
    form = SessionForm()
    form.course_id.choices = choices([(0, _("（不指定）"))] + [(c.id, c.title) for c in klass.programme.courses])
    if request.method == "GET":
        form.date.data = max(klass.start_date, min(today_local(), klass.end_date))
    return form


def _session_data(form: SessionForm) -> services.SessionData:
    return services.SessionData(date=form.date.data, start_time=form.start_time.data, end_time=form.end_time.data,
                                place=form.place.data or "", topic=form.topic.data,
                                course_id=form.course_id.data or None,
                                hours=float(form.hours.data) if form.hours.data else None)


@bp.route("/classes/<int:class_id>", methods=["GET", "POST"])
@login_required
def class_detail(class_id: int):
    """A class: its details, timetable (staff add sessions here) and, for a trainee, their enrolment."""
    klass = get_visible(db.session, TrainingClass, class_id, current_user)
    is_owner = services.is_class_staff(current_user, klass)
    form = _session_form(klass)
    if is_owner and form.validate_on_submit():
        done = submit(form, lambda: services.add_session(db.session, current_user, klass, _session_data(form)),
                      success=_("课次已添加"), redirect_to=url_for("courses.class_detail", class_id=klass.id))
        if done:
            return done
    mine = None
    if current_user.role == Role.trainee:
        mine = db.session.scalar(select(Enrollment).where(Enrollment.class_id == klass.id,
                                                         Enrollment.user_id == current_user.id))
    admitted = mine is not None and mine.status == EnrollmentStatus.approved
    return render_template("courses/class_detail.html", klass=klass, form=form, is_owner=is_owner, mine=mine,
                           counts=queries.status_counts(db.session, klass), today=today_local(),
                           is_enrolment_open=services.is_enrolment_open, empty=EmptyForm(),
                           rates=rates(db.session, mine, utcnow()) if admitted else None,
                           gate_message=gates.refusal(db.session, klass, gates.ENROL),
                           content=services.class_lessons(db.session, klass),
                           to_push=services.lessons_to_push(db.session, klass) if is_owner else [])


@bp.route("/classes/<int:class_id>/lessons/<int:lesson_id>/push", methods=["POST"])
@roles_required(*STAFF)
def lesson_push(class_id: int, lesson_id: int):
    """Add a lesson the catalogue gained since the class opened to the class; its trainees are told."""
    klass = get_visible(db.session, TrainingClass, class_id, current_user)
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    if EmptyForm().validate_on_submit():
        submit(None, lambda: services.push_lesson(db.session, current_user, klass, les, utcnow()),
               success=_("已将课时加入本班，学员已收到通知"))
    return redirect(url_for("courses.class_detail", class_id=klass.id))


@bp.route("/sessions/<int:session_id>/delete", methods=["POST"])
@roles_required(*STAFF)
def session_delete(session_id: int):
    """Remove a session that has no attendance yet."""
    cs = get_visible(db.session, ClassSession, session_id, current_user)
    if EmptyForm().validate_on_submit():
        submit(None, lambda: services.delete_session(db.session, current_user, cs), success=_("课次已删除"))
    return redirect(url_for("courses.class_detail", class_id=cs.class_id))
