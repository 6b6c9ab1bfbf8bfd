"""Attendance pages for staff: a session's roster with its attendance, marking by hand, the Excel template and
import."""
from __future__ import annotations

import io

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from courses import checkin, queries, services
from courses.forms import ImportForm, MarkForm
from courses.models import AttendanceStatus, ClassSession, Enrollment
from courses.views import STAFF, VIEWERS, bp
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db, utcnow
from lms.errors import DomainError
from lms.forms import submit
from lms.scoping import get_visible
from lms.templating import paginate

IMPORT_MAX_BYTES = 5 * 1024 * 1024


@bp.route("/sessions/<int:session_id>/attendance", methods=["GET"])
@roles_required(*VIEWERS)
def attendance(session_id: int):
    """A session's roster with each trainee's record, rates and flags (``queries.attendance_sheet``, as the API)."""
    return _attendance_page(get_visible(db.session, ClassSession, session_id, current_user), ImportForm())


def _attendance_page(cs: ClassSession, import_form: ImportForm, chosen: str = ""):
    q = (request.args.get("q") or "").strip()[:64]
    page = paginate(db.session, queries.roster_query(cs, q), per_page=50)
    sheet = queries.attendance_sheet(db.session, cs, page.items, utcnow())
    return render_template("courses/attendance.html", cs=cs, page=page, sheet=sheet, mark_form=MarkForm(),
                           import_form=import_form, Status=AttendanceStatus, q=q, chosen=chosen,
                           is_owner=services.is_class_staff(current_user, cs.training_class))


@bp.route("/sessions/<int:session_id>/attendance/mark", methods=["POST"])
@roles_required(*STAFF)
def attendance_mark(session_id: int):
    """Mark one trainee's attendance by hand, with a reason."""
    cs = get_visible(db.session, ClassSession, session_id, current_user)
    form = MarkForm()
    back = url_for("courses.attendance", session_id=cs.id)
    if not form.validate_on_submit():
        flash("；".join(f"{form[k].label.text}：{'；'.join(map(str, v))}" for k, v in form.errors.items()
                       if k in form and k != "csrf_token") or _("请求无效，请刷新页面后重试"), "danger")
        return redirect(back)
    enrollment = get_visible(db.session, Enrollment, int(form.enrollment_id.data), current_user)
    submit(None, lambda: checkin.mark(db.session, current_user, cs, enrollment, form.status.data, form.reason.data,
                                      utcnow()),
           success=_("已将 %(n)s 记为“%(s)s”", n=enrollment.user.display_name, s=AttendanceStatus(form.status.data).label))
    return redirect(back)


@bp.route("/sessions/<int:session_id>/attendance/template.xlsx")
@roles_required(*STAFF)
def attendance_template(session_id: int):
    """The session's roster as an .xlsx to fill in and import."""
    cs = get_visible(db.session, ClassSession, session_id, current_user)
    data = checkin.template_workbook(db.session, cs)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"attendance-{cs.id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _import(cs: ClassSession, data: bytes, filename: str) -> int:
    try:
        return checkin.import_sheet(db.session, current_user, cs, data, utcnow(), filename, IMPORT_MAX_BYTES)
    except DomainError as exc:  # all or nothing: say that nothing was written, then why
        raise DomainError(_("导入失败，没有写入任何记录：%(m)s", m=exc.message)) from exc


def _imported(n: int, back: str) -> str:
    flash(_("已导入 %(n)d 条考勤记录", n=n), "success")
    return back


@bp.route("/sessions/<int:session_id>/attendance/import", methods=["POST"])
@body_limit(IMPORT_MAX_BYTES + FORM_ROOM)
@roles_required(*STAFF)
def attendance_import(session_id: int):
    """Import a session's attendance from a sheet (.xlsx, .xls or CSV): every row good, or nothing written;
    a refusal shows the page again (422) with the problems and the file chosen."""
    cs = get_visible(db.session, ClassSession, session_id, current_user)
    back = url_for("courses.attendance", session_id=cs.id)
    upload = request.files.get("file")
    form = ImportForm()
    if not form.validate_on_submit() or upload is None or not upload.filename:
        form.form_errors.append(_("请选择要导入的文件（.xlsx、.xls 或 CSV）"))
        return _attendance_page(cs, form), 422
    data = upload.stream.read(IMPORT_MAX_BYTES + 1)
    done = submit(form, lambda: _import(cs, data, upload.filename), domain_errors="form",
                  redirect_to=lambda n: _imported(n, back))
    return done or (_attendance_page(cs, form, upload.filename), 422)
