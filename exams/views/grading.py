"""Grading short answers: the queue and one answer's grading form."""
from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exams import grading
from exams.forms import GradeForm
from exams.models import Answer
from exams.views import MANAGERS, bp
from lms.auth.views import roles_required
from lms.db import db
from lms.forms import submit
from lms.scoping import get_visible
from lms.templating import paginate


@bp.route("/grading")
@roles_required(*MANAGERS)
def grading_queue():
    """Short answers of finished attempts waiting for a grader, oldest first."""
    return render_template("exams/grading.html", page=paginate(db.session, grading.grading_queue(db.session, current_user)))


def _next_to_grade() -> str:
    """The next answer in the queue, or the queue itself when it is empty."""
    nxt = db.session.scalar(grading.grading_queue(db.session, current_user).limit(1))
    return url_for("exams.grade", answer_id=nxt.id) if nxt else url_for("exams.grading_queue")


@bp.route("/grading/<int:answer_id>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def grade(answer_id: int):
    """Score one short answer, then go on to the next one waiting."""
    answer = get_visible(db.session, Answer, answer_id, current_user)
    form = GradeForm()
    if form.validate_on_submit():
        done = submit(form, lambda: grading.grade_answer(db.session, current_user, answer, form.points.data,
                                                         form.comment.data or ""),
                      success=_("评分已保存"), redirect_to=lambda _answer: _next_to_grade(), domain_errors="form")
        if done is not None:
            return done
    return render_template("exams/grade.html", answer=answer, aq=answer.attempt_question, form=form)
