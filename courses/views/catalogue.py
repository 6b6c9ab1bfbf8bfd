"""Pages for the course catalogue: courses, their lessons, a lesson's file and a trainee's progress."""
from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import or_

from courses import services
from courses.forms import CourseForm, EmptyForm, LessonForm
from courses.models import Course, Lesson, LessonKind, SubjectCategory, VideoWatch, may_edit_course
from courses.views import AUTHORS, bp, q_arg
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db, utcnow, write_phase
from lms.domain import Role
from lms.forms import submit
from lms.scoping import get_visible, get_writable, visible
from lms.templating import paginate
from lms.uploads import StoredFile, check_declared_size, store_upload
from lms.web import stream_stored


@bp.route("/catalogue")
@login_required
def catalogue():
    """The courses, filtered by title or code and by subject category."""
    stmt = visible(Course, current_user).order_by(Course.code)
    if q := q_arg():
        stmt = stmt.where(or_(Course.title.contains(q, autoescape=True), Course.code.contains(q.upper(), autoescape=True)))
    if (cat := request.args.get("category")) in SubjectCategory.__members__:
        stmt = stmt.where(Course.subject_category == SubjectCategory(cat))
    page = paginate(db.session, stmt)
    return render_template("courses/catalogue.html", page=page, q=q, SubjectCategory=SubjectCategory,
                           can_edit=current_user.role in AUTHORS)


@bp.route("/catalogue/new", methods=["GET", "POST"])
@bp.route("/catalogue/<int:course_id>/edit", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def course_edit(course_id: int | None = None):
    """Create or edit a course."""
    course = get_writable(db.session, Course, course_id, current_user) if course_id else None
    form = CourseForm(obj=course)
    if form.validate_on_submit():
        data = services.CourseData(code=form.code.data, title=form.title.data, hours=float(form.hours.data),
                                   subject_category=form.subject_category.data, description=form.description.data,
                                   compulsory=form.compulsory.data)
        done = submit(form, lambda: services.save_course(db.session, current_user, data, course),
                      success=_("课程已保存"), redirect_to=lambda c: url_for("courses.course", course_id=c.id))
        if done:
            return done
    return render_template("courses/course_form.html", form=form, course=course)


@bp.route("/catalogue/<int:course_id>")
@login_required
def course(course_id: int):
    """A course with its lessons and the user's progress through them."""
    c = get_visible(db.session, Course, course_id, current_user)
    progress = services.progress_map(db.session, current_user, [les.id for les in c.lessons])
    return render_template("courses/course.html", course=c, progress=progress, can_edit=may_edit_course(current_user, c),
                           form=EmptyForm())


def _stored_lesson_file(form: LessonForm) -> StoredFile | None:
    """Store the uploaded video or PDF of a new lesson (checked for kind and size), if there is one."""
    upload = request.files.get("file")
    if form.kind.data not in (LessonKind.video.value, LessonKind.pdf.value) or not upload or not upload.filename:
        return None
    video = form.kind.data == LessonKind.video.value
    limit = services.VIDEO_MAX_BYTES if video else services.PDF_MAX_BYTES
    check_declared_size(request.content_length, limit + 64 * 1024)
    return store_upload(db.session, current_user, upload.stream, upload.filename,
                        allowed=("mp4", "webm") if video else ("pdf",), max_bytes=limit,
                        upload_dir=current_app.config["UPLOAD_DIR"])


@bp.route("/catalogue/<int:course_id>/lessons/new", methods=["GET", "POST"])
@body_limit(services.VIDEO_MAX_BYTES + FORM_ROOM)
@roles_required(*AUTHORS)
def lesson_new(course_id: int):
    """Add a lesson (text, or an uploaded video or PDF) to a course."""
    c = get_writable(db.session, Course, course_id, current_user)
    form = LessonForm()
    if form.validate_on_submit():
        done = submit(form, lambda: services.add_lesson(
            db.session, current_user, c, title=form.title.data, kind=form.kind.data, body_md=form.body_md.data,
            file=_stored_lesson_file(form), minutes=form.minutes.data or 0),
            success=_("课时已添加"), redirect_to=url_for("courses.course", course_id=c.id))
        if done:
            return done
    return render_template("courses/lesson_form.html", form=form, course=c,
                           limits={"video": services.VIDEO_MAX_BYTES // 2**20, "pdf": services.PDF_MAX_BYTES // 2**20})


@bp.route("/lessons/<int:lesson_id>/move/<int:down>", methods=["POST"])
@roles_required(*AUTHORS)
def lesson_move(lesson_id: int, down: int):
    """Move a lesson up or down in its course."""
    les = get_writable(db.session, Lesson, lesson_id, current_user)
    if EmptyForm().validate_on_submit():
        submit(None, lambda: services.move_lesson(db.session, current_user, les, 1 if down else -1))
    return redirect(url_for("courses.course", course_id=les.course_id))


@bp.route("/lessons/<int:lesson_id>/delete", methods=["POST"])
@roles_required(*AUTHORS)
def lesson_delete(lesson_id: int):
    """Delete a lesson nobody has opened yet."""
    les = get_writable(db.session, Lesson, lesson_id, current_user)
    course_id = les.course_id
    if EmptyForm().validate_on_submit():
        submit(None, lambda: services.delete_lesson(db.session, current_user, les), success=_("课时已删除"))
    return redirect(url_for("courses.course", course_id=course_id))


@bp.route("/lessons/<int:lesson_id>/retire", methods=["POST"])
@roles_required(*AUTHORS)
def lesson_retire(lesson_id: int):
    """Retire a lesson from the catalogue: new classes leave it out, the records of those who studied it stay."""
    les = get_writable(db.session, Lesson, lesson_id, current_user)
    if EmptyForm().validate_on_submit():
        submit(None, lambda: services.retire_lesson(db.session, current_user, les, utcnow()), success=_("课时已停用"))
    return redirect(url_for("courses.course", course_id=les.course_id))


@bp.route("/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id: int):
    """A lesson, with its neighbours; a trainee opening it is recorded."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    prog = viewing = watch = rules = None
    if current_user.role == Role.trainee:
        def record():
            opened = services.open_lesson(db.session, current_user, les, utcnow())
            if les.kind != LessonKind.video:
                return opened, None, None
            # a new viewing: its token goes to the player's heartbeats
            return (opened, *services.start_viewing(db.session, current_user, les, utcnow()))

        # A write of its own (SQLite: BEGIN IMMEDIATE, retried when busy): a GET's read transaction upgraded to a
        # write fails at once when the player's last heartbeat committed meanwhile (a reload as the video ends).
        prog, viewing, watch = write_phase(db.session, record)
        if les.kind == LessonKind.video:
            rules = services.video_rules(db.session, current_user, les, with_bases=True)
    body = Markup(services.render_markdown(les.body_md)) if les.kind == LessonKind.text else None
    siblings = les.course.lessons
    i = siblings.index(les)
    return render_template("courses/lesson.html", lesson=les, body=body, prog=prog, form=EmptyForm(),
                           viewing=viewing, watch=watch, rules=rules,
                           prev=siblings[i - 1] if i > 0 else None, next=siblings[i + 1] if i + 1 < len(siblings) else None)


@bp.route("/lessons/<int:lesson_id>/file")
@login_required
def lesson_file(lesson_id: int):
    """The lesson's video or PDF, from the file store; Range requests (206) let a video be scrubbed."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    if les.file is None:
        abort(404)
    resp = stream_stored(les.file.relative_path, les.file.mime, etag=les.file.sha256, max_age=3600,
                         download_name=les.file.original_name or les.file.relative_path.rsplit("/", 1)[-1])
    resp.headers["Cache-Control"] = "private, max-age=3600"
    # The page CSP forbids plugins (object-src 'none'), which would stop the browser's PDF viewer; the file
    # itself is a sniffed PDF or video served with nosniff, so it may use the viewer and nothing else.
    resp.headers["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"
    return resp


@bp.route("/lessons/<int:lesson_id>/progress", methods=["POST"])
@roles_required(Role.trainee)
def lesson_progress(lesson_id: int):
    """The "学完" button of a text or PDF lesson (a video completes by the time really watched)."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    submit(None, lambda: services.record_progress(db.session, current_user, les, utcnow(), completed=True),
           success=_("已记录为学完"))
    return redirect(url_for("courses.lesson", lesson_id=les.id))


def _beat_json(r) -> dict:
    return {"credited": r.credited, "watched_seconds": r.watched_seconds, "watched_share": round(r.share, 4),
            "furthest": r.furthest, "completed": r.completed, "check": r.check_code, "refused": r.refused}


@bp.route("/lessons/<int:lesson_id>/heartbeat", methods=["POST"])
@roles_required(Role.trainee)
def lesson_heartbeat(lesson_id: int):
    """The video player's heartbeat: JSON ``{token, start, end, duration}`` (seconds of the video played since
    the last one); the server credits what the wall clock allows and answers the totals and any attention check."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    body = request.get_json(silent=True) or {}
    r = services.heartbeat(db.session, current_user, les, body.get("token"), body.get("start"), body.get("end"),
                           body.get("duration"), utcnow())
    db.session.commit()
    return jsonify(_beat_json(r))


@bp.route("/lessons/<int:lesson_id>/check", methods=["POST"])
@roles_required(Role.trainee)
def lesson_check(lesson_id: int):
    """The answer to an attention check: JSON ``{token, code}``; the video may play on."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    body = request.get_json(silent=True) or {}
    services.answer_check(db.session, current_user, les, body.get("token"), body.get("code"), utcnow())
    db.session.commit()
    return jsonify({"ok": True})


@bp.route("/lessons/<int:lesson_id>/study")
@roles_required(*AUTHORS)
def lesson_study(lesson_id: int):
    """Staff see each trainee's time really watched and attention checks on a video lesson (their own trainees)."""
    les = get_visible(db.session, Lesson, lesson_id, current_user)
    watches = visible(VideoWatch, current_user).where(VideoWatch.lesson_id == les.id)
    return render_template("courses/lesson_study.html", lesson=les, rows=services.study_report(db.session, watches))
