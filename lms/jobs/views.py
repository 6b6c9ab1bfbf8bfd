"""The system admin's jobs page: every job, its last run and next fire time, and "run now"."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from lms.auth.views import roles_required
from lms.db import db, utcnow
from lms.domain import Role
from lms.jobs import background, services
from lms.jobs.models import JobRun
from lms.scheduler import load_jobs

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


def nav(user):
    """The jobs page in the system admin's menu (added by the factory)."""
    return [("jobs.index", _("定时任务"))] if user.role == Role.system_admin else []


@bp.route("/")
@roles_required(Role.system_admin)
def index():
    """Every registered job with its last run and next fire time."""
    load_jobs()
    runs = services.last_runs(db.session)
    jobs = [(j, runs.get(j.id), services.next_fire(j.id)) for j in services.REGISTRY.values()]
    return render_template("jobs/index.html", jobs=jobs)


@bp.route("/<job_id>/run", methods=["POST"])
@roles_required(Role.system_admin)
def run(job_id: str):
    """Run a job now as background work (lms.jobs.background), not inside this request: the request records
    the run and commits, so that the job's own write transactions never wait for the request's lock."""
    load_jobs()
    if job_id not in services.REGISTRY:
        flash(_("没有这个任务"), "danger")
        return redirect(url_for("jobs.index"))
    run_id = services.start_run(db.session, job_id, trigger="manual").id
    db.session.commit()
    thread = background.launch(current_app._get_current_object(), f"job-{job_id}", services.finish_run, run_id)
    if thread is not None:
        flash(_("任务已开始在后台运行，稍后刷新本页查看结果"), "info")
    else:  # run inline (BACKGROUND_INLINE): it has finished
        status = db.session.scalar(select(JobRun.status).where(JobRun.id == run_id))
        flash(_("任务已执行：%(status)s", status=status), "success" if status == "ok" else "danger")
    return redirect(url_for("jobs.index"))


@bp.route("/runs/<int:run_id>")
@roles_required(Role.system_admin)
def run_status(run_id: int):
    """One run's progress for the jobs page to poll: its status, the seconds it has run and, once done, its result."""
    jr = db.session.get(JobRun, run_id)
    if jr is None:
        abort(404)
    elapsed = ((jr.finished_at or utcnow()) - jr.started_at).total_seconds()
    return jsonify({"status": jr.status, "elapsed": round(elapsed), "result": jr.result if jr.status != "running" else None})
