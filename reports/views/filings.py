"""The reporting lists and class filings: staff see their classes' filings and reports and file a class; bureaus
review the filings and results reports of their region."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from courses.models import TrainingClass
from lms.auth.views import roles_required
from lms.db import db
from lms.errors import DomainError
from lms.forms import submit
from lms.scoping import get_visible
from lms.templating import paginate, today_local
from reports import queries
from reports.forms import DecisionForm, FileClassForm
from reports.models import ClassFiling, ReviewStatus
from reports.services import filing
from reports.views import BUREAU, READERS, STAFF, bp, visible_class


@bp.route("/reports")
@roles_required(*READERS)
def index():
    """Staff: their classes with filing and report states. Bureaus: the filings or results reports to review."""
    if current_user.role == STAFF:
        page = paginate(db.session, queries.report_classes(current_user))
        filings, results = queries.records_of_classes(db.session, [k.id for k in page.items])
        return render_template("reports/index_staff.html", page=page, filings=filings, results=results)
    kind = "results" if request.args.get("kind") == "results" else "filings"
    status = request.args.get("status") or ""
    q = (request.args.get("q") or "").strip()[:64]
    page = paginate(db.session, queries.review_list(current_user, kind, status, q))
    return render_template("reports/index_bureau.html", page=page, kind=kind, status=status, q=q,
                           statuses=ReviewStatus.choices())


def _bureau_or_none(klass: TrainingClass):
    """The bureau the class would be filed with, or None when there is none (the page says so)."""
    try:
        return queries.bureau_of_class(db.session, klass)
    except DomainError:
        return None


@bp.route("/reports/classes/<int:class_id>/filing", methods=["GET", "POST"])
@roles_required(*READERS)
def filing_page(class_id: int):
    """A class's filing: what is (or was) filed, its state and the bureau's decision; its staff file it here."""
    klass = visible_class(class_id)
    form = FileClassForm(data={"teachers": klass.teachers})
    if request.method == "POST":
        if current_user.role != STAFF:
            abort(403)
        if form.validate_on_submit():
            done = submit(form, lambda: filing.file_class(db.session, current_user, klass, today_local(),
                                                          teachers=form.teachers.data),
                          success=_("已报备，等待监管部门审核"), domain_errors="form",
                          redirect_to=url_for("reports.filing_page", class_id=class_id))
            if done is not None:
                return done
    record = queries.filing_of(db.session, klass)
    preview = queries.snapshot(db.session, klass)
    changed = (record is not None and record.status != ReviewStatus.returned
               and queries.changed_since_filed(record, preview))
    return render_template("reports/filing.html", klass=klass, record=record, form=form, preview=preview,
                           bureau=_bureau_or_none(klass), decision=DecisionForm(), changed=changed,
                           can_decide=record is not None and filing.can_decide(current_user, record))


@bp.route("/reports/filings/<int:filing_id>/decide", methods=["POST"])
@roles_required(BUREAU)
def filing_decide(filing_id: int):
    """The bureau accepts a filing, or returns it with a reason."""
    record = get_visible(db.session, ClassFiling, filing_id, current_user)
    class_id = record.class_id
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    accept = form.decision.data == "accept"
    submit(None, lambda: filing.decide_filing(db.session, current_user, record, accept, form.reason.data or ""),
           success=_("已接收报备") if accept else _("已退回报备"))
    return redirect(url_for("reports.filing_page", class_id=class_id))
