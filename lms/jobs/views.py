from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from lms.auth.views import roles_required
from lms.db import db
from lms.domain import Role
from lms.jobs import services
from lms.templating import add_nav

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@add_nav
def _nav(user):
    return [("jobs.index", _("定时任务"))] if user.role == Role.system_admin else []


@bp.route("/")
@roles_required(Role.system_admin)
def index():
    from lms.scheduler import _load_jobs

    _load_jobs()
    runs = services.last_runs(db.session)
    jobs = [(j, runs.get(j.id), services.next_fire(j.id)) for j in services.REGISTRY.values()]
    return render_template("jobs/index.html", jobs=jobs)


@bp.route("/<job_id>/run", methods=["POST"])
@roles_required(Role.system_admin)
def run(job_id: str):
    from lms.scheduler import _load_jobs

    _load_jobs()
    if job_id not in services.REGISTRY:
        flash(_("没有这个任务"), "danger")
    else:
        r = services.run_job(current_app.extensions["lms_db"].sessionmaker, job_id, trigger="manual")
        flash(_("任务已执行：%(status)s", status=r.status), "success" if r.status == "ok" else "danger")
    return redirect(url_for("jobs.index"))
