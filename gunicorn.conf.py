"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (see README)."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sized for the machine: the classic 2 x cores + 1 sync workers, plus threads for requests that wait on I/O.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# The access log records the path only (no query string): paths never carry personal data, and certificate signatures
# travel in the URL fragment, which browsers do not send.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Warm the worker before it takes requests (see ``lms.warm_up``)."""
    app = getattr(worker, "wsgi", None)
    if hasattr(app, "jinja_env"):
        from lms import warm_up

        warm_up(app)
