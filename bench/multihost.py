"""``python -m bench.multihost``: the exam and verification workloads against two app hosts (issue 21).

The data of ``bench.generate`` (at ``--scale``, small by default) in a PostgreSQL database (``BENCH_PG_DB``, default
``lms_multihost``, dropped and created anew; or ``BENCH_PG_URL``), then ``bench.cluster``: Redis, two gunicorns
serving ``bench.app_wsgi`` (2 workers each, APP_HOSTS=2, FILE_STORAGE=database, rate limits in Redis) and nginx
with one upstream of both. Measured through nginx:

- verification: the public verification page, closed loop (the threaded client: wrk is not needed), through
  nginx over both hosts and, for comparison, straight to one host;
- the exam bell (``bench.workloads.exam_start``: every candidate starts at once) and autosave (closed loop, every
  acknowledged answer compared with the database afterwards), with the bare WSGI baseline as in ``make bench``.

Writes ``bench/results/multihost.json`` and prints it. Not part of ``make bench``; one run takes a few minutes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import sys
import time
from pathlib import Path

from bench import client, workloads
from bench.__main__ import RESULTS, pg_url
from bench.client import Req
from bench.cluster import Cluster
from bench.generate import generate, prepare_database
from bench.server import Gunicorn


def verification(app, run_dir: Path, port: int, seconds: float, concurrency: int = 32) -> dict:
    """The verification page for random certificates, closed loop, on ``port``."""
    page, _api = workloads.verification_paths(app, run_dir)
    paths = page.read_text().split()
    rngs = [random.Random(500 + u) for u in range(concurrency)]
    resps, elapsed = client.closed_loop(port, lambda u, n: Req("GET", rngs[u].choice(paths)), concurrency, seconds)
    return client.summary(resps, elapsed, lambda r: r.status == 200)


def run(scale: float, seconds: float, candidates: int, log) -> dict:
    from lms.app import create_app
    from lms.pii import generate_key

    run_dir = RESULTS / "run-multihost"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    url = pg_url()
    env = {"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32), "FIELD_ENCRYPTION_KEY": generate_key(),
           "CERT_KEY_DIR": str(run_dir / "keys"), "UPLOAD_DIR": str(run_dir / "uploads"), "LMS_INSTANCE_PATH": str(run_dir),
           "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "INFO"}
    os.environ.update(env)
    app = create_app({"CERT_VERIFY_RATE_LIMIT": "100000000 per hour", "FILE_STORAGE": "database"})
    out: dict = {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "scale": scale,
                 "machine": {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}, "database": url.split("@")[-1], "figures": {}}
    log("schema, demo data and generated data")
    prepare_database(app)
    gen = generate(app, scale)
    out["generator"] = {"counts": gen.counts, "seconds": gen.seconds}
    fig = out["figures"]
    with Gunicorn("bench.bare:app", env, run_dir / "bare.log") as bare, \
            Cluster(run_dir / "cluster", env, keys=run_dir / "keys", target="bench.app_wsgi:app", workers=2) as cl:
        log(f"two hosts up: nginx :{cl.port} → a :{cl.hosts['a']}, b :{cl.hosts['b']}; Redis :{cl.redis_port}")
        fig["verification_two_hosts"] = verification(app, run_dir, cl.port, seconds)
        fig["verification_one_host_direct"] = verification(app, run_dir, cl.hosts["a"], seconds)
        log(f"verification: {fig['verification_two_hosts']['rps']} req/s through nginx, "
            f"{fig['verification_one_host_direct']['rps']} req/s on one host")
        start = workloads.exam_start(app, gen, bare.port, cl.port, candidates)
        attempts, logins = start.pop("_attempts"), start.pop("_logins")
        fig["exam_start"] = start
        log(f"exam start: {json.dumps(start['app'])[:300]}")
        fig["autosave"] = workloads.autosave(app, gen, bare.port, cl.port, attempts, logins, seconds, seconds / 2)
        log(f"autosave: {json.dumps(fig['autosave']['app'])[:300]}, lost {fig['autosave']['answers_lost']}")
        served = {n: cl.log(f"host-{n}").count("lms.access:") for n in cl.hosts}
        fig["requests_served_per_host"] = served
        fig["host_errors"] = {n: cl.log(f"host-{n}").count("Traceback") for n in cl.hosts}
    out["machine"]["load_average_at_end"] = os.getloadavg()  # the machine may be shared: read the figures with it
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.multihost")
    ap.add_argument("--scale", type=float, default=0.05, help="data size as a share of the issue's (bench.generate)")
    ap.add_argument("--seconds", type=float, default=15, help="duration of each closed loop")
    ap.add_argument("--candidates", type=int, default=200, help="trainees starting the exam at the bell")
    args = ap.parse_args(argv)
    t0 = time.monotonic()

    def log(msg):
        print(f"{time.monotonic() - t0:7.1f}s {msg}", file=sys.stderr, flush=True)

    result = run(args.scale, args.seconds, args.candidates, log)
    result["seconds"] = round(time.monotonic() - t0, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "multihost.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n",
                                            encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
