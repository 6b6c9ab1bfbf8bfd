"""``python -m bench.issue_worker <class_id> <seconds> <limit>``: issue a class's certificates as the platform's
background worker does (``certificates.worker.start_job`` + ``process_job``: short batches of certificates, one
transaction each), in jobs of 50, and render each one's PNG and PDF with its QR code in
``certificates.rendering.RenderPool`` (a process per core, at ``RENDER_NICE``) while the next job issues,
for at most ``seconds`` or ``limit`` certificates. Prints one JSON line: issued, seconds, rate and the projected
time for 5,000. ``BENCH_RENDER_NICE`` sets the renderers' niceness (default: the product's)."""
from __future__ import annotations

import json
import os
import sys
import time

from sqlalchemy import select


def render_args(maker, enrollment_ids: list[int], cfg) -> list[dict]:
    """The ``render_files`` arguments of the enrolments' certificates: what the product reads to print one."""
    from certificates import services
    from certificates.models import Certificate

    with maker() as s:
        certs = list(s.scalars(select(Certificate).where(Certificate.enrollment_id.in_(enrollment_ids))))
        return [dict(snapshot=cert.snapshot, number=cert.number, issued_on=cert.issued_on.isoformat(),
                     valid_until=services.printed_until(cert.valid_until), url=services.qr_url(cert, cfg))
                for cert in certs]


def main(argv: list[str]) -> int:
    class_id, seconds, limit = int(argv[1]), float(argv[2]), int(argv[3])
    from bench.app_wsgi import app
    from certificates import rendering, services, worker
    from courses.models import Enrollment, TrainingClass
    from lms.auth.models import User
    from lms.db import db, reset_write_intent, set_write_intent
    from lms.domain import Role
    from lms.templating import today_local

    cfg = services.CertConfig.from_app(app)
    t0 = time.perf_counter()
    issued = rendered = failed = 0
    png_bytes = pdf_bytes = 0
    issue_s = 0.0
    nice = int(os.environ.get("BENCH_RENDER_NICE", rendering.RENDER_NICE))
    pool = rendering.RenderPool(nice=nice)
    pending = []  # futures of rendered chunks

    def collect(keep: int) -> None:
        """Take the rendered chunks, in order, waiting until at most ``keep`` are still rendering."""
        nonlocal rendered, png_bytes, pdf_bytes
        while pending and (len(pending) > keep or pending[0].done()):
            for png, pdf in pending.pop(0).result():
                png_bytes += len(png)
                pdf_bytes += len(pdf)
                rendered += 1

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
            token = set_write_intent(True)  # as a POST request does: on SQLite take the write lock up front
            try:
                with maker() as s:
                    job = worker.start_job(s, s.get(User, actor_id), s.get(TrainingClass, class_id), chunk)
                    s.commit()
                    job_id = job.id
            finally:
                reset_write_intent(token)
            t_issue = time.perf_counter()
            res = worker.process_job(maker, job_id, cfg, today)
            issue_s += time.perf_counter() - t_issue
            issued += res["issued"]
            failed += res["failed"]
            pending.append(pool.submit(render_args(maker, chunk, cfg)))
            collect(keep=2)  # issuing runs ahead of rendering by at most two chunks
        t_drain = time.perf_counter()
        collect(keep=0)
        drain_s = time.perf_counter() - t_drain
        pool.close()
    elapsed = time.perf_counter() - t0
    rate = rendered / elapsed if elapsed else 0.0
    print(json.dumps({"issued": issued, "rendered": rendered, "failed": failed, "seconds": round(elapsed, 1),
                      "per_second": round(rate, 2), "projected_5000_s": round(5000 / rate, 1) if rate else None,
                      "issue_s": round(issue_s, 1), "render_drain_s": round(drain_s, 1), "render_nice": nice,
                      "render_processes": pool.processes,
                      "issue_per_second": round(issued / issue_s, 1) if issue_s else None,
                      # rendering overlaps issuing: its rate is the end-to-end rate (all rendered / all time)
                      "render_per_second": round(rate, 2),
                      "avg_png_kb": round(png_bytes / max(rendered, 1) / 1024, 1),
                      "avg_pdf_kb": round(pdf_bytes / max(rendered, 1) / 1024, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
