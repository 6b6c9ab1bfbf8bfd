"""``python -m bench.issue_worker <class_id> <seconds> <limit>``: issue a class's certificates as the platform's
background worker does (``certificates.worker.start_job`` + ``process_job``: one transaction per certificate), in
jobs of 50, then render each one's PNG and PDF with its QR code, for at most ``seconds`` or ``limit`` certificates.
Prints one JSON line: issued, seconds, rate and the projected time for 5,000."""
from __future__ import annotations

import json
import sys
import time

from sqlalchemy import select


def main(argv: list[str]) -> int:
    class_id, seconds, limit = int(argv[1]), float(argv[2]), int(argv[3])
    from bench.app_wsgi import app
    from certificates import rendering, services, worker
    from certificates.models import Certificate
    from courses.models import Enrollment, TrainingClass
    from lms.auth.models import User
    from lms.db import db
    from lms.domain import Role
    from lms.templating import today_local

    cfg = services.CertConfig.from_app(app)
    t0 = time.perf_counter()
    issued = rendered = failed = 0
    png_bytes = pdf_bytes = 0
    issue_s = render_s = 0.0
    with app.app_context():
        today = today_local()
        maker = db._state().sessionmaker
        with maker() as s:
            cls = s.get(TrainingClass, class_id)
            actor_id = s.scalar(select(User.id).where(User.role == Role.institution_staff,
                                                      User.institution_id == cls.institution_id).order_by(User.id))
            ids = list(s.scalars(select(Enrollment.id).where(Enrollment.class_id == class_id).order_by(Enrollment.id)))
        pos = 0
        while pos < len(ids) and issued < limit and time.perf_counter() - t0 < seconds:
            chunk = ids[pos:pos + 50]
            pos += len(chunk)
            with maker() as s:
                job = worker.start_job(s, s.get(User, actor_id), s.get(TrainingClass, class_id), chunk)
                s.commit()
                job_id = job.id
            t_issue = time.perf_counter()
            res = worker.process_job(maker, job_id, cfg, today)
            issue_s += time.perf_counter() - t_issue
            issued += res["issued"]
            failed += res["failed"]
            t_render = time.perf_counter()
            with maker() as s:
                certs = list(s.scalars(select(Certificate).where(Certificate.enrollment_id.in_(chunk))))
                for cert in certs:
                    url = services.verify_url(cert, cfg.base_url)
                    kw = dict(snapshot=cert.snapshot, number=cert.number, issued_on=cert.issued_on.isoformat(),
                              valid_until=cert.valid_until.isoformat(), url=url)
                    png_bytes += len(rendering.render_png(**kw))
                    pdf_bytes += len(rendering.render_pdf(**kw))
                    rendered += 1
            render_s += time.perf_counter() - t_render
    elapsed = time.perf_counter() - t0
    rate = rendered / elapsed if elapsed else 0.0
    print(json.dumps({"issued": issued, "rendered": rendered, "failed": failed, "seconds": round(elapsed, 1),
                      "per_second": round(rate, 2), "projected_5000_s": round(5000 / rate, 1) if rate else None,
                      "issue_s": round(issue_s, 1), "render_s": round(render_s, 1),
                      "issue_per_second": round(issued / issue_s, 1) if issue_s else None,
                      "render_per_second": round(rendered / render_s, 2) if render_s else None,
                      "avg_png_kb": round(png_bytes / max(rendered, 1) / 1024, 1),
                      "avg_pdf_kb": round(pdf_bytes / max(rendered, 1) / 1024, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
