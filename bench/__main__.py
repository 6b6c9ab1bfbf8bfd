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
import runpy
import subprocess
import secrets
import shutil
import sys
import time
import traceback
from pathlib import Path

from bench import report, workloads, workloads_pool
from bench import workloads_bureau  # issue 20: the bureau's pages and exports at full scale
from bench.generate import Generated, generate, prepare_database
from bench.schedule import QUICK_TIME, schedule
from bench.server import REPO, Gunicorn, Servers

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


def backend_env(backend: str) -> tuple[Path, str, dict]:
    """A backend's run directory (emptied), database URL (PostgreSQL's database dropped and re-created) and the
    settings the in-process app, the servers and the generator read."""
    from lms.pii import generate_key

    run_dir = RESULTS / f"run-{backend}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    url = f"sqlite:///{run_dir / 'bench.sqlite3'}" if backend == "sqlite" else pg_url()
    env = {"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": generate_key(),
           "CERT_KEY_DIR": str(run_dir / "keys"), "UPLOAD_DIR": str(run_dir / "uploads"), "LMS_INSTANCE_PATH": str(run_dir),
           "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "WARNING"}
    return run_dir, url, env


class Preparing:
    """Issue 20 (quick runs): every backend's schema, demo data and generated data at once, each in its own
    process (``python -m bench.prepare``; its progress in ``run-<backend>/prepare.log``). ``result(backend)`` waits
    for one: ``{"run_dir", "url", "env", "gen", "steps"}`` or ``{"error"}``; ``wait_all()`` for every one, which
    ``run_backend`` does while its servers boot, before the first workload: nothing is measured meanwhile."""

    def __init__(self, backends: list[str], scale: float, log):
        self.log, self.t0, self.done_s = log, time.monotonic(), None
        self.results: dict = {}
        self.procs: dict = {}
        for backend in backends:
            try:
                run_dir, url, env = backend_env(backend)
            except Exception as exc:  # noqa: BLE001  (the backend's run reports it)
                self.results[backend] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            log(f"[{backend}] schema, demo data and generating at scale {scale} (all databases at once; "
                f"{run_dir / 'prepare.log'})")
            err = open(run_dir / "prepare.log", "wb")
            proc = subprocess.Popen([sys.executable, "-m", "bench.prepare", str(scale)], cwd=REPO,
                                    env={**os.environ, **env, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=err)
            self.procs[backend] = (proc, err, run_dir, url, env)

    def result(self, backend: str) -> dict:
        if backend not in self.results:
            proc, err, run_dir, url, env = self.procs[backend]
            stdout, _ = proc.communicate()
            err.close()
            line = next((ln for ln in reversed(stdout.decode().splitlines()) if ln.startswith("{")), None)
            if proc.returncode or line is None:
                tail = (run_dir / "prepare.log").read_text(encoding="utf-8", errors="replace")[-1500:]
                self.results[backend] = {"error": f"bench.prepare exited with {proc.returncode}: {tail}"}
            else:
                d = json.loads(line)
                self.results[backend] = {"run_dir": run_dir, "url": url, "env": env, "gen": Generated(**d["generated"]),
                                         "steps": {"schema_and_demo": d["schema_and_demo_s"],
                                                   "generating": d["generating_s"]}}
                self.log(f"[{backend}] prepared: schema and demo data {d['schema_and_demo_s']} s, "
                         f"generating {d['generating_s']} s")
        return self.results[backend]

    def wait_all(self) -> None:
        for backend in self.procs:
            self.result(backend)
        if self.done_s is None:
            self.done_s = round(time.monotonic() - self.t0, 1)


def run_backend(backend: str, scale: float, tf: float, log, only: set[str] | None = None,
                preparing: Preparing | None = None) -> dict:
    """One backend's run. ``preparing``: the databases being made at once (quick runs), else made here."""
    from lms.app import create_app

    sch = schedule(tf)
    prepared = preparing.result(backend) if preparing else None
    if prepared and prepared.get("error"):
        raise RuntimeError(prepared["error"])
    run_dir, url, env = (prepared["run_dir"], prepared["url"], prepared["env"]) if prepared else backend_env(backend)
    os.environ.update(env)  # the in-process app (generator, checks) and the servers read the same settings
    app = create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour"})
    out: dict = {"backend": backend, "database": url.split("@")[-1] if "@" in url else "sqlite file", "figures": {}}
    steps = out["steps"] = {}  # issue 20: where the run's time goes, step by step (seconds)
    t = time.monotonic()
    if prepared:
        gen = prepared["gen"]
        steps.update(prepared["steps"])
        steps["prepared_in_parallel"] = True
    else:
        log(f"[{backend}] schema and demo data")
        prepare_database(app)
        steps["schema_and_demo"] = round(time.monotonic() - t, 1)
        log(f"[{backend}] generating at scale {scale}")
        gen = generate(app, scale)
        steps["generating"] = round(time.monotonic() - t - steps["schema_and_demo"], 1)
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
        wl[name]["wall_s"] = steps[name] = round(time.monotonic() - t0, 1)
        log(f"[{backend}] {name}: {json.dumps({k: v for k, v in wl[name].items() if not k.startswith('_')}, ensure_ascii=False, default=str)[:600]}")

    out["database_version"] = database_version(app)
    t0 = time.monotonic()
    servers = Servers(Gunicorn("bench.bare:app", env, run_dir / "bare.log"),
                      Gunicorn("bench.bare:flask_app", env, run_dir / "bare_flask.log"),
                      Gunicorn("bench.app_wsgi:app", env, run_dir / "app.log"), settle_s=sch["server_settle_s"],
                      while_booting=preparing.wait_all if preparing else None)
    with servers as (bare, bare_flask, srv):
        steps["servers_start"] = round(time.monotonic() - t0, 1)
        step("verification", lambda: workloads.verification(app, bare.port, srv.port, run_dir, sch["wrk_s"],
                                                            sch["connections"], flask_port=bare_flask.port))
        step("exam_start", lambda: workloads.exam_start(app, gen, bare.port, srv.port, sch["exam_starters"]))
        start = wl.get("exam_start")
        if start and "_attempts" in start:
            attempts, logins = start.pop("_attempts"), start.pop("_logins")
            step("autosave", lambda: workloads.autosave(app, gen, bare.port, srv.port, attempts, logins, sch["autosave_s"],
                                                        sch["autosave_bare_s"], sch["autosave_users"]))
            step("submissions", lambda: workloads.submissions(app, gen, bare.port, srv.port, attempts, logins,
                                                              sch["submissions_s"], sch["submissions"]))
        step("checkin", lambda: workloads.checkins(app, gen, bare.port, srv.port, sch["checkin_burst"],
                                                   sch["checkin_burst_s"], sch["checkin_tail"], sch["checkin_tail_s"]))
        step("issuing", lambda: workloads.issuing(app, gen, srv.port, run_dir, child_env, sch["issuing_s"],
                                                  sch["issuing_connections"], sch["issuing_limit"],
                                                  idle_seconds=sch["issuing_idle_s"],
                                                  worker_start_s=sch["issuing_worker_start_s"]))
        step("talent_search", lambda: workloads_pool.talent_search(app, gen, bare.port, srv.port, sch["search_s"],
                                                                   sch["search_bare_s"], sch["search_users"]))
        step("rollup", lambda: workloads_pool.rollup(app, gen))
        step("bureau", lambda: workloads_bureau.bureau(app, gen, bare.port, srv.port, sch["bureau_s"], sch["bureau_bare_s"],
                                                       sch["bureau_users"], sch["bureau_export_runs"]))
        out["server_log_locked"] = srv.log_text().count("database is locked")
        out["server_log_errors"] = srv.log_text().count("Traceback")
        # gunicorn's max_requests replacements during the run: each costs a worker ~4 s and its kept answers
        out["server_worker_restarts"] = srv.log_text().count("Autorestarting worker")
        t0 = time.monotonic()
    steps["servers_stop"] = round(time.monotonic() - t0, 1)
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
    cfg = runpy.run_path(str(REPO / "gunicorn.conf.py"))  # what every server of the run is started with
    out["gunicorn"] = {k: cfg[k] for k in ("worker_class", "workers", "threads")}
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
                    help="durations factor (BENCH_TIME); default 1, or bench.schedule.QUICK_TIME for a quick run (scale < 1)")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma-separated workloads to run (autosave and submissions need exam_start); default all")
    ap.add_argument("--report-only", action="store_true", help="rewrite latest.md from latest.json")
    args = ap.parse_args(argv)
    quick = args.scale < 1 or bool(args.only.strip())
    if args.time is None:
        args.time = float(os.environ.get("BENCH_TIME") or (QUICK_TIME if args.scale < 1 else 1))
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
    result["schedule"] = schedule(args.time)  # issue 20: every length and count the workloads used
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    preparing = None
    if args.scale < 1 and len(backends) > 1:  # a quick run: every database made at once (bench/prepare.py)
        preparing = Preparing(backends, args.scale, log)
    for backend in backends:
        try:
            result["backends"][backend] = run_backend(backend, args.scale, args.time, log,
                                                       {w.strip() for w in args.only.split(",") if w.strip()} or None,
                                                       preparing)
        except Exception as exc:
            log(f"[{backend}] failed: {exc}")
            result["backends"][backend] = {"backend": backend, "error": f"{type(exc).__name__}: {exc}",
                                           "trace": traceback.format_exc()[-2000:], "figures": {}}
    if preparing:
        preparing.wait_all()
        result["prepared_at_once_s"] = preparing.done_s
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
