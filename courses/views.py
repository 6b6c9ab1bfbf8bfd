"""Pages of the courses package: programmes and eligibility rules, the course catalogue and lessons.

Classes and enrolment are in ``views_classes``, attendance in ``views_attendance``; all register on ``bp``."""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import or_

from courses import eligibility, services
from courses.forms import CourseForm, EmptyForm, LessonForm, NewRuleSetForm, ProgrammeForm, RuleSetForm
from courses.models import Course, EligibilityRuleSet, Lesson, LessonKind, Programme, SubjectCategory
from lms.auth.views import roles_required
from lms.db import db, utcnow
from lms.domain import RegionLevel, Role, Tier
from lms.errors import DomainError, ValidationFailed
from lms.forms import apply_errors
from lms.orgs.models import Region
from lms.scoping import get_visible, visible
from lms.templating import add_nav, paginate
from lms.uploads import check_declared_size, store_upload

bp = Blueprint("courses", __name__, url_prefix="/courses", template_folder="templates", static_folder="static")
ADMINS = (Role.regulator_admin, Role.system_admin)
AUTHORS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)


@add_nav
def _nav(user):
    if user.role == Role.trainee:
        return [("courses.my", _("我的培训")), ("courses.classes", _("培训班")), ("courses.catalogue", _("课程"))]
    if user.role == Role.institution_staff:
        return [("courses.classes", _("培训班")), ("courses.catalogue", _("课程")), ("courses.programmes", _("培训方案"))]
    return [("courses.programmes", _("培训方案")), ("courses.classes", _("培训班")), ("courses.catalogue", _("课程"))]


def q_arg() -> str:
    return (request.args.get("q") or "").strip()[:64]


def province_choices() -> list[tuple[int, str]]:
    rows = db.session.scalars(visible(Region, current_user).where(Region.level == RegionLevel.province).order_by(Region.code))
    return [(r.id, r.name) for r in rows]


# ------------------------------------------------------------------ programmes
@bp.route("/programmes")
@login_required
def programmes():
    stmt = visible(Programme, current_user).order_by(Programme.year.desc(), Programme.province_id, Programme.tier)
    if q := q_arg():
        stmt = stmt.where(Programme.name.contains(q))
    if (tier := request.args.get("tier")) in Tier.__members__:
        stmt = stmt.where(Programme.tier == Tier(tier))
    if (year := request.args.get("year", type=int)):
        stmt = stmt.where(Programme.year == year)
    if (prov := request.args.get("province", type=int)):
        stmt = stmt.where(Programme.province_id == prov)
    page = paginate(db.session, stmt)
    return render_template("courses/programmes.html", page=page, q=q, Tier=Tier, provinces=province_choices(),
                           can_edit=current_user.role in ADMINS)


@bp.route("/programmes/<int:programme_id>")
@login_required
def programme(programme_id: int):
    prog = get_visible(db.session, Programme, programme_id, current_user)
    return render_template("courses/programme.html", prog=prog, can_edit=current_user.role in ADMINS,
                           rules_json=json.dumps(prog.eligibility_rule_set.rules if prog.eligibility_rule_set else [],
                                                 ensure_ascii=False, indent=2))


@bp.route("/programmes/new", methods=["GET", "POST"])
@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def programme_edit(programme_id: int | None = None):
    prog = get_visible(db.session, Programme, programme_id, current_user) if programme_id else None
    form = ProgrammeForm(obj=prog)
    form.province_id.choices = province_choices()
    form.eligibility_rule_set_id.choices = [(0, _("不设报名条件"))] + [
        (r.id, f"{r.name}（{r.province_id and db.session.get(Region, r.province_id).name}）")
        for r in db.session.scalars(visible(EligibilityRuleSet, current_user).order_by(EligibilityRuleSet.name))]
    form.course_ids.choices = [(c.id, f"{c.code} {c.title}（{c.hours:g} 学时）")
                               for c in db.session.scalars(visible(Course, current_user).order_by(Course.code))]
    if request.method == "GET" and prog is not None:
        form.course_ids.data = [c.id for c in prog.courses]
        form.min_attendance_pct.data = round(prog.min_attendance_rate * 100)
        form.eligibility_rule_set_id.data = prog.eligibility_rule_set_id or 0
    if form.validate_on_submit():
        data = services.ProgrammeData(
            province_id=form.province_id.data, tier=form.tier.data, year=form.year.data, name=form.name.data,
            pass_mark=float(form.pass_mark.data), min_attendance_rate=form.min_attendance_pct.data / 100,
            certificate_validity_years=form.certificate_validity_years.data,
            requires_lower_tier=form.requires_lower_tier.data,
            eligibility_rule_set_id=form.eligibility_rule_set_id.data or None, course_ids=form.course_ids.data)
        try:
            prog = services.save_programme(db.session, current_user, data, prog)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("培训方案已保存"), "success")
            return redirect(url_for("courses.programme", programme_id=prog.id))
    return render_template("courses/programme_form.html", form=form, prog=prog)


@bp.route("/rule-sets/new", methods=["GET", "POST"])
@bp.route("/rule-sets/<int:rule_set_id>/edit", methods=["GET", "POST"])
@roles_required(*ADMINS)
def rule_set_edit(rule_set_id: int | None = None):
    rs = get_visible(db.session, EligibilityRuleSet, rule_set_id, current_user) if rule_set_id else None
    form = RuleSetForm(obj=rs) if rs else NewRuleSetForm()
    if rs is None:
        form.province_id.choices = province_choices()
    if request.method == "GET":
        form.rules.data = json.dumps(rs.rules if rs else eligibility.FUJIAN_RULES, ensure_ascii=False, indent=2)
    if form.validate_on_submit():
        try:
            rules = json.loads(form.rules.data)
        except json.JSONDecodeError as exc:
            form.rules.errors = [_("JSON 格式错误：第 %(l)d 行第 %(c)d 列", l=exc.lineno, c=exc.colno)]
        else:
            try:
                province = db.session.get(Region, rs.province_id if rs else form.province_id.data)
                services.save_rule_set(db.session, current_user, province, form.name.data, rules, rs)
            except DomainError as exc:
                db.session.rollback()
                if isinstance(exc, ValidationFailed):
                    apply_errors(form, exc)
                else:
                    flash(exc.message, "danger")
            else:
                db.session.commit()
                flash(_("报名条件已保存"), "success")
                return redirect(request.args.get("back") or url_for("courses.programmes"))
    return render_template("courses/rule_set_form.html", form=form, rs=rs, types=eligibility.CONDITION_TYPES)


# ------------------------------------------------------------------ courses and lessons
@bp.route("/catalogue")
@login_required
def catalogue():
    stmt = visible(Course, current_user).order_by(Course.code)
    if q := q_arg():
        stmt = stmt.where(or_(Course.title.contains(q), Course.code.contains(q.upper())))
    if (cat := request.args.get("category")) in SubjectCategory.__members__:
        stmt = stmt.where(Course.subject_category == SubjectCategory(cat))
    page = paginate(db.session, stmt)
    return render_template("courses/catalogue.html", page=page, q=q, SubjectCategory=SubjectCategory,
                           can_edit=current_user.role in AUTHORS)


@bp.route("/catalogue/new", methods=["GET", "POST"])
@bp.route("/catalogue/<int:course_id>/edit", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def course_edit(course_id: int | None = None):
    course = get_visible(db.session, Course, course_id, current_user) if course_id else None
    form = CourseForm(obj=course)
    if form.validate_on_submit():
        data = services.CourseData(code=form.code.data, title=form.title.data, hours=float(form.hours.data),
                                   subject_category=form.subject_category.data, description=form.description.data,
                                   compulsory=form.compulsory.data)
        try:
            course = services.save_course(db.session, current_user, data, course)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("课程已保存"), "success")
            return redirect(url_for("courses.course", course_id=course.id))
    return render_template("courses/course_form.html", form=form, course=course)


@bp.route("/catalogue/<int:course_id>")
@login_required
def course(course_id: int):
    c = get_visible(db.session, Course, course_id, current_user)
    progress = services.progress_map(db.session, current_user, [les.id for les in c.lessons])
    return render_template("courses/course.html", course=c, progress=progress, can_edit=current_user.role in AUTHORS,
                           form=EmptyForm())


@bp.route("/catalogue/<int:course_id>/lessons/new", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def lesson_new(course_id: int):
    c = get_visible(db.session, Course, course_id, current_user)
    form = LessonForm()
    if form.validate_on_submit():
        try:
            stored = None
            upload = request.files.get("file")
            if form.kind.data in (LessonKind.video.value, LessonKind.pdf.value) and upload and upload.filename:
                video = form.kind.data == LessonKind.video.value
                limit = services.VIDEO_MAX_BYTES if video else services.PDF_MAX_BYTES
                check_declared_size(request.content_length, limit + 64 * 1024)
                stored = store_upload(db.session, current_user, upload.stream, upload.filename,
                                      allowed=("mp4", "webm") if video else ("pdf",), max_bytes=limit,
                                      upload_dir=current_app.config["UPLOAD_DIR"])
            services.add_lesson(db.session, current_user, c, title=form.title.data, kind=form.kind.data,
                                body_md=form.body_md.data, file=stored, minutes=form.minutes.data or 0)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("课时已添加"), "success")
            return redirect(url_for("courses.course", course_id=c.id))
    return render_template("courses/lesson_form.html", form=form, course=c,
                           limits={"video": services.VIDEO_MAX_BYTES // 2**20, "pdf": services.PDF_MAX_BYTES // 2**20})


@bp.route("/lessons/<int:lesson_id>/move/<int:down>", methods=["POST"])
@roles_required(*AUTHORS)
def lesson_move(lesson_id: int, down: int):
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    if EmptyForm().validate_on_submit():
        services.move_lesson(db.session, current_user, les, 1 if down else -1)
        db.session.commit()
    return redirect(url_for("courses.course", course_id=les.course_id))


@bp.route("/lessons/<int:lesson_id>/delete", methods=["POST"])
@roles_required(*AUTHORS)
def lesson_delete(lesson_id: int):
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    course_id = les.course_id
    if EmptyForm().validate_on_submit():
        try:
            services.delete_lesson(db.session, current_user, les)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("课时已删除"), "info")
    return redirect(url_for("courses.course", course_id=course_id))


@bp.route("/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id: int):
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    prog = None
    if current_user.role == Role.trainee:
        prog = services.open_lesson(db.session, current_user, les, utcnow())
        db.session.commit()
    body = Markup(services.render_markdown(les.body_md)) if les.kind == LessonKind.text else None
    siblings = les.course.lessons
    i = siblings.index(les)
    return render_template("courses/lesson.html", lesson=les, body=body, prog=prog, form=EmptyForm(),
                           prev=siblings[i - 1] if i > 0 else None, next=siblings[i + 1] if i + 1 < len(siblings) else None)


@bp.route("/lessons/<int:lesson_id>/file")
@login_required
def lesson_file(lesson_id: int):
    """The lesson's video or PDF; Werkzeug answers Range requests (206) so a video can be scrubbed."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    if les.file is None:
        abort(404)
    path = les.file.path(current_app.config["UPLOAD_DIR"])
    if not path.exists():
        abort(404)
    resp = send_file(path, mimetype=les.file.mime, conditional=True, etag=les.file.sha256, max_age=3600,
                     download_name=les.file.original_name or path.name, as_attachment=False)
    resp.headers["Cache-Control"] = "private, max-age=3600"
    # The page CSP forbids plugins (object-src 'none'), which would stop the browser's PDF viewer; the file
    # itself is a sniffed PDF or video served with nosniff, so it may use the viewer and nothing else.
    resp.headers["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"
    return resp


@bp.route("/lessons/<int:lesson_id>/progress", methods=["POST"])
@roles_required(Role.trainee)
def lesson_progress(lesson_id: int):
    """Progress from the lesson page: JSON ``{"watched_share": 0..1}`` from the video player (with the
    CSRF token in X-CSRFToken), or the "学完" form button."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    payload = request.get_json(silent=True) if request.is_json else None
    try:
        if payload is not None:
            prog = services.record_progress(db.session, current_user, les, utcnow(),
                                            watched_share=payload.get("watched_share"))
        else:
            prog = services.record_progress(db.session, current_user, les, utcnow(), completed=True)
    except DomainError as exc:
        db.session.rollback()
        if payload is not None:
            raise
        flash(exc.message, "danger")
        return redirect(url_for("courses.lesson", lesson_id=les.id))
    db.session.commit()
    if payload is not None:
        return jsonify({"watched_share": prog.watched_share, "completed": prog.completed_at is not None})
    flash(_("已记录为学完"), "success")
    return redirect(url_for("courses.lesson", lesson_id=les.id))


# The rest of the package's routes, the API, the completion rules, home panels and demo data register
# themselves on import.
from courses import api, completion_rules, demo, panels, views_attendance, views_classes  # noqa: E402,F401
