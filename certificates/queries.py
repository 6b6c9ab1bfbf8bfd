"""Read models of certificates shared by the pages, the API and the home panel: the lists of certificates and
classes a user may see, a class's issuing rows, an issue job's progress. Queries never write."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from certificates import photos, services
from certificates.models import Certificate, CertificateStatus, IssueJob
from courses.models import Enrollment, EnrollmentStatus, TrainingClass
from lms.auth.models import User
from lms.domain import Role
from lms.errors import NotFound
from lms.orgs.models import region_subtree_ids
from lms.orgs.services import province_of
from lms.scoping import get_visible, visible



def certificates(user: User, *, q: str = "", status: str | None = None, class_id: int | None = None) -> Select:
    """The certificates ``user`` may see, filtered by number or holder (``q``), status and class (unordered)."""
    stmt = visible(Certificate, user)
    if q:
        stmt = stmt.where(or_(Certificate.number == q, Certificate.holder_name.contains(q, autoescape=True)))
    if status in CertificateStatus.__members__:
        stmt = stmt.where(Certificate.status == CertificateStatus(status))
    if class_id is not None:
        stmt = stmt.where(Certificate.class_id == class_id)
    return stmt


def count_certificates(session: Session, user: User) -> int:
    """How many certificates ``user`` may see (the staff's home panel)."""
    return session.scalar(select(func.count()).select_from(certificates(user).subquery())) or 0


def by_number(session: Session, number: str, user: User) -> Certificate:
    """The certificate with this number, if ``user`` may see it (the API addresses certificates by number)."""
    cid = session.scalar(select(Certificate.id).where(Certificate.number == number))
    if cid is None:
        raise NotFound(_("证书不存在或无权查看"))
    return get_visible(session, Certificate, cid, user)


def classes_for(session: Session, actor: User) -> Select:
    """A statement listing the classes ``actor`` may issue certificates for, latest first."""
    stmt = select(TrainingClass).order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())
    if actor.role == Role.system_admin:
        return stmt
    if actor.role == Role.institution_staff:
        return stmt.where(TrainingClass.institution_id == actor.institution_id)
    if actor.role == Role.regulator_admin:
        return stmt.where(TrainingClass.region_id.in_(region_subtree_ids(actor)))
    return stmt.where(False)


def class_rows(session: Session, cls: TrainingClass) -> list[dict]:
    """One row per approved enrolment of the class: the holder's name, each completion rule, the certificate, and
    the holder's photo for certificates (``photo``; ``photo_required`` where the province prints it: no photo,
    no certificate)."""
    enrollments = session.scalars(select(Enrollment).where(
        Enrollment.class_id == cls.id, Enrollment.status == EnrollmentStatus.approved).order_by(Enrollment.id)).all()
    photo_required = photos.photo_required(session, province_of(session, cls.region))
    rows = []
    for e in enrollments:
        results = services.completion_check(session, e)
        photo = photos.photo_of(session, e.user_id)
        rows.append({"enrollment": e, "name": services.holder_name(session, e.user), "results": results,
                     "complete": all(r.met for r in results) and (photo is not None or not photo_required),
                     "certificate": services.current_certificate(session, e.id),
                     "photo": photo, "photo_required": photo_required})
    return rows


def class_certificates(session: Session, user: User, cls: TrainingClass) -> list[Certificate]:
    """The class's certificates in force that ``user`` may see, by number (the class's ZIP download)."""
    return session.scalars(certificates(user, class_id=cls.id).where(
        Certificate.current_for_enrollment_id.is_not(None)).order_by(Certificate.number)).all()


def latest_job(session: Session, class_id: int) -> IssueJob | None:
    """The class's most recent issue job, if any."""
    return session.scalar(select(IssueJob).where(IssueJob.class_id == class_id).order_by(IssueJob.id.desc()).limit(1))


def progress(job: IssueJob) -> dict:
    """An issue job's counts by item status and its percentage done."""
    counts = {"pending": 0, "issued": 0, "skipped": 0, "failed": 0}
    for item in job.items:
        counts[item.status] = counts.get(item.status, 0) + 1
    total = len(job.items)
    done = total - counts["pending"]
    return {"job_id": job.id, "status": job.status, "total": total, "done": done,
            "percent": round(100 * done / total) if total else 100, **counts}


def progress_with_items(job: IssueJob) -> dict:
    """``progress`` plus every item's outcome (the progress JSON of the page and the API)."""
    out = progress(job)
    out["items"] = [{"enrollment_id": i.enrollment_id, "status": i.status, "message": i.message} for i in job.items]
    return out
