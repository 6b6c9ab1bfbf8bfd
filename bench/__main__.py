"""``python -m bench`` (``make bench``): generate the data, run every workload on SQLite and on PostgreSQL, write
``bench/results/latest.json`` and ``bench/results/latest.md``; a run below full scale (``BENCH_SCALE`` < 1) or of
some workloads only (``BENCH_ONLY``) is a quick check and writes ``quick.json`` and ``quick.md`` instead, never the
record.

Knobs (environment): ``BENCH_SCALE`` (data size as a share of the issue's, default 1: the full sizes), ``BENCH_TIME``
(workload durations as a share of this file's defaults, default 1), ``BENCH_BACKENDS`` (``sqlite,postgresql``),
``BENCH_PG_URL`` or a PostgreSQL ``DATABASE_URL`` (else a database ``lms_bench`` is created with the role
``lms``/``lms`` on 127.0.0.1:5432).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import secrets
import shutil
import sys
import time
import traceback
from pathlib import Path

from bench import report, workloads, workloads_pool
from bench import workloads_bureau  # issue 20: the bureau's pages and exports at full scale
from bench.generate import generate, prepare_database
from bench.server import REPO, Gunicorn

RESULTS = Path(__file__).resolve().parent / "results"


def pg_url() -> str:
    url = os.environ.get("BENCH_PG_URL") or ""
    if not url and os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        url = os.environ["DATABASE_URL"]
    if url:
        return url
    import psycopg

    name = os.environ.get("BENCH_PG_DB", "lms_bench")
    if not name.isidentifier():
        raise SystemExit(f"BENCH_PG_DB must be a plain identifier, not {name!r}")
    with psycopg.connect("host=127.0.0.1 port=5432 user=lms password=lms dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://lms:lms@127.0.0.1:5432/{name}"


def run_backend(backend: str, scale: float, tf: float, log, only: set[str] | None = None) -> dict:
    from lms.app import create_app
    from lms.pii import generate_key

    run_dir = RESULTS / f"run-{backend}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    url = f"sqlite:///{run_dir / 'bench.sqlite3'}" if backend == "sqlite" else pg_url()
    env = {"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": generate_key(),
           "CERT_KEY_DIR": str(run_dir / "keys"), "UPLOAD_DIR": str(run_dir / "uploads"), "LMS_INSTANCE_PATH": str(run_dir),
           "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "WARNING"}
    os.environ.update(env)  # the in-process app (generator, checks) and the servers read the same settings
    app = create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour"})
    out: dict = {"backend": backend, "database": url.split("@")[-1] if "@" in url else "sqlite file", "figures": {}}
    t = time.monotonic()
    log(f"[{backend}] schema and demo data")
    prepare_database(app)
    log(f"[{backend}] generating at scale {scale}")
    gen = generate(app, scale)
    out["generator"] = {"scale": scale, "sizes": gen.sizes, "counts": gen.counts, "seconds": gen.seconds, "notes": gen.notes}
    log(f"[{backend}] generated {gen.counts} in {gen.seconds} s")
    wl = out["figures"]
    child_env = {**os.environ, "PYTHONPATH": str(REPO)}

    def step(name, fn):
        if only and name not in only:
            return
        log(f"[{backend}] {name}")
        t0 = time.monotonic()
        try:
            wl[name] = fn()
        except Exception as exc:  # one workload's failure is a result, not the end of the run
            wl[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-1500:]}
        wl[name]["wall_s"] = round(time.monotonic() - t0, 1)
        log(f"[{backend}] {name}: {json.dumps({k: v for k, v in wl[name].items() if not k.startswith('_')}, ensure_ascii=False, default=str)[:600]}")

    out["database_version"] = database_version(app)
    with Gunicorn("bench.bare:app", env, run_dir / "bare.log") as bare, \
            Gunicorn("bench.bare:flask_app", env, run_dir / "bare_flask.log") as bare_flask, \
            Gunicorn("bench.app_wsgi:app", env, run_dir / "app.log") as srv:
        step("verification", lambda: workloads.verification(app, bare.port, srv.port, run_dir, max(2, int(10 * tf)),
                                                            flask_port=bare_flask.port))
        step("exam_start", lambda: workloads.exam_start(app, gen, bare.port, srv.port, 500))
        start = wl.get("exam_start")
        if start and "_attempts" in start:
            attempts, logins = start.pop("_attempts"), start.pop("_logins")
            step("autosave", lambda: workloads.autosave(app, gen, bare.port, srv.port, attempts, logins, 20 * tf, 8 * tf))
            step("submissions", lambda: workloads.submissions(app, gen, bare.port, srv.port, attempts, logins, 5.0))
        step("checkin", lambda: workloads.checkins(app, gen, bare.port, srv.port, 300, 5.0, int(400 * tf), 55 * 400 / 1200 * tf))
        step("issuing", lambda: workloads.issuing(app, gen, srv.port, run_dir, child_env, int(40 * tf)))
        step("talent_search", lambda: workloads_pool.talent_search(app, gen, bare.port, srv.port, 20 * tf, 8 * tf))
        step("rollup", lambda: workloads_pool.rollup(app, gen))
        step("bureau", lambda: workloads_bureau.bureau(app, gen, bare.port, srv.port, 15 * tf, 5 * tf))
        out["server_log_locked"] = srv.log_text().count("database is locked")
        out["server_log_errors"] = srv.log_text().count("Traceback")
    v = wl.get("verification") or {}
    out["baselines"] = {name: {k: v[key].get(k) for k in ("rps", "p95_ms", "errors")}
                        for name, key in (("bare WSGI", "bare"), ("bare Flask", "bare_flask")) if key in v}
    out["rows"] = report.figure_rows(out)
    out["seconds"] = round(time.monotonic() - t, 1)
    return out


def database_version(app) -> str:
    from sqlalchemy import text

    from lms.db import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return "SQLite " + db.session.scalar(text("SELECT sqlite_version()"))
        return "PostgreSQL " + db.session.scalar(text("SHOW server_version"))


def machine() -> dict:
    """The machine, as the results record it: CPUs and their model, memory, Python, the platform."""
    out = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        info = Path("/proc/cpuinfo").read_text()
        out["model"] = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
        mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
        out["memory_gb"] = round(int(mem.split()[1]) / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):  # not Linux: the rest still says enough
        pass
    return out


def commit() -> str:
    """The commit measured, with "+dirty" when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--backends", default=os.environ.get("BENCH_BACKENDS", "sqlite,postgresql"))
    ap.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    ap.add_argument("--time", type=float, default=None,
                    help="durations factor (BENCH_TIME); default 1, or 0.25 for a quick run (scale < 1)")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma-separated workloads to run (autosave and submissions need exam_start); default all")
    ap.add_argument("--report-only", action="store_true", help="rewrite latest.md from latest.json")
    args = ap.parse_args(argv)
    quick = args.scale < 1 or bool(args.only.strip())
    if args.time is None:
        args.time = float(os.environ.get("BENCH_TIME") or (0.25 if args.scale < 1 else 1))
    stem = "quick" if quick else "latest"  # a quick check never replaces the record
    if args.report_only:
        result = json.loads((RESULTS / f"{stem}.json").read_text(encoding="utf-8"))
        for b in result["backends"].values():
            b["rows"] = report.figure_rows(b)
        (RESULTS / f"{stem}.md").write_text(report.markdown(result), encoding="utf-8")
        return 0
    t0 = time.monotonic()

    def log(msg):
        print(f"{time.monotonic() - t0:7.1f}s {msg}", file=sys.stderr, flush=True)

    result = {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "scale": args.scale,
              "time_factor": args.time, "quick": quick, "commit": commit(), "machine": machine(),
              "backends": {}}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        try:
            result["backends"][backend] = run_backend(backend, args.scale, args.time, log,
                                                       {w.strip() for w in args.only.split(",") if w.strip()} or None)
        except Exception as exc:
            log(f"[{backend}] failed: {exc}")
            result["backends"][backend] = {"backend": backend, "error": f"{type(exc).__name__}: {exc}",
                                           "trace": traceback.format_exc()[-2000:], "figures": {}}
    result["machine"]["databases"] = {name: b["database_version"] for name, b in result["backends"].items()
                                      if b.get("database_version")}
    result["seconds"] = round(time.monotonic() - t0, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n",
                                          encoding="utf-8")
    (RESULTS / f"{stem}.md").write_text(report.markdown(result), encoding="utf-8")
    log(f"wrote {RESULTS / (stem + '.md')} in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
