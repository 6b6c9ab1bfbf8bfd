"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (see README)."""
import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sized for the machine: one process a core (each runs Python on one core at a time; at least two, so that one busy
# process never holds every request), each with threads for the requests that wait on I/O. Not the classic
# 2 x cores + 1 of sync workers: what a process keeps between requests (the verification's records, answers and
# signature results, compiled templates) is shared by its threads, and fewer processes switch less. Issue 20, ninth
# round, 2 cores, PostgreSQL, full scale, verification runs: 5 processes gave the page 0.40 x bare Flask with p95
# 65 ms, 3 gave 0.39-0.41 x and 52-68 ms, 2 gave 0.52 x and 37 ms (bare Flask itself: p95 41, 24-31, 19 ms);
# bench/results/latest.md has the record.
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (a bound on any slow leak). Replacing one costs its share of the
# machine for ~4 s and everything it keeps (verification answers and signature results, page frames, the session
# cookies it verified): at 20,000 (before issue 20's eighth round) a verification peak of 3,000 requests/s replaced
# every worker every ~30 s, in the middle of the benchmark's verification runs (bench/results/run-*/app.log).
# Every cache a worker keeps is bounded, so a rarer replacement costs no memory. At 2 requests/s spread over two
# workers, each is replaced about every two days.
max_requests = 200000
max_requests_jitter = 20000
# No gunicorn access log: the app writes one structured line per request on standard error (lms.requestlog:
# time, request id, user id, status, duration; the path only, never the query string).
accesslog = None
errorlog = "-"
# gunicorn 27's control socket defaults to ~/.gunicorn/gunicorn.ctl, in the service user's home. Under systemd
# (deploy/systemd/cqo-web.service: RuntimeDirectory=cqo-lms) it goes to /run/cqo-lms, mode 0600; elsewhere it is off.
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"].split(":")[0], "gunicorn.ctl")
else:
    control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app is built and warmed up once in the master and forked into the workers: a worker started by
# max_requests then costs a fork instead of ~3 s of CPU (building the app, compiling templates, configuring the
# ORM). Under verification traffic at ~500 requests/s the workers restarted every ~20 s each, and those boots
# took a sixth of the machine.
preload_app = True


def when_ready(server):
    """In the master, before the first worker is forked: warm the app (see ``lms.app.warm_up``)."""
    app = server.app.wsgi()
    if hasattr(app, "jinja_env"):
        from lms.app import warm_up  # lazy: gunicorn reads this file before the app (wsgi.py) is imported

        # Production start-up checks (lms.doctor), already logged by the factory: an error stops the server.
        errors = [f for f in app.extensions.get("lms_doctor", []) if f.level == "error"]
        if errors:
            server.log.error("refusing to start: %s", "; ".join(str(f) for f in errors))
            raise SystemExit(1)
        warm_up(app)
    # What the workers inherit (the app, its modules, compiled templates, ~210,000 objects) is never garbage: moved
    # out of the collector's sight, so that a worker's full collection traverses only what it made itself (one over
    # the inherited heap took ~90 ms, a stall of every request on that worker), and the pages stay shared with the
    # master instead of being copied when the collector writes to them.
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    """A forked worker must not reuse connections the master may have opened (SQLAlchemy's advice)."""
    app = server.app.wsgi()
    state = getattr(app, "extensions", {}).get("lms_db")
    if state is not None:
        state.engine.dispose(close=False)
