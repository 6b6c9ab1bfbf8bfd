"""Configuration. This module is the only reader of ``os.environ``.

Secrets (the session key and the field-encryption key) are never generated here: they come from the
environment or from ``instance/secrets.json``, which ``python -m lms.secrets init`` writes once.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def instance_path() -> Path:
    """The instance folder (``LMS_INSTANCE_PATH``, default ``instance/``): secrets, SQLite, uploads."""
    return Path(os.environ.get("LMS_INSTANCE_PATH", DEFAULT_INSTANCE)).resolve()


def _secrets_file() -> dict:
    path = instance_path() / "secrets.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class MissingSecret(Exception):
    name: str

    def __str__(self) -> str:  # pragma: no cover - message only
        return (
            f"{self.name} is not set. Run `python -m lms.secrets init` once (make run does), "
            f"or set the environment variable {self.name}."
        )


def load() -> dict:
    """Return the Flask config mapping built from the environment and ``instance/``."""
    secrets = _secrets_file()
    inst = instance_path()
    cfg: dict = {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.get("SECRET_KEY"),
        "FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY") or secrets.get("FIELD_ENCRYPTION_KEY"),
        # The environment's own, if any (it wins over instance/secrets.json): a restore with --keys checks it.
        "ENV_FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY") or None,
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{inst / 'lms.sqlite3'}",
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or str(inst / "uploads"),
        "CERT_KEY_DIR": os.environ.get("CERT_KEY_DIR") or str(inst / "keys"),
        # development (the default: the demo, `make run`) or production (a bureau's site: lms.doctor's checks
        # apply, seed-demo refuses, no address is made up for PUBLIC_BASE_URL).
        "LMS_ENV": os.environ.get("LMS_ENV", "development"),
        "PUBLIC_BASE_URL": os.environ.get(
            "PUBLIC_BASE_URL", "" if os.environ.get("LMS_ENV") == "production" else "http://127.0.0.1:5000"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "lms-memory://"),
        # Secure cookies: asked for, or implied by an https PUBLIC_BASE_URL (issue 18).
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
        or os.environ.get("PUBLIC_BASE_URL", "").startswith("https://"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # gunicorn's worker count (gunicorn.conf.py reads the same variable); 0 = its default, a worker a core
        # (at least two).
        "WEB_WORKERS": int(os.environ.get("GUNICORN_WORKERS", "0")),
        # How many reverse proxies (nginx) stand in front: their X-Forwarded-For/-Proto are then trusted, so
        # rate limits and logs see the visitor's address, not the proxy's. 0 = none (direct).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_SENDER": os.environ.get("SMTP_SENDER", ""),
        # How notification mails go out (lms/notifications/mail.py): smtp (the default with SMTP_HOST), folder
        # (.eml files in MAIL_FOLDER: the demo's default outside production), none, or a plugged-in sender.
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND") or (
            "smtp" if os.environ.get("SMTP_HOST") else "none" if os.environ.get("LMS_ENV") == "production" else "folder"),
        "MAIL_FOLDER": os.environ.get("MAIL_FOLDER") or str(inst / "mail"),
        # Which province the demo instance plays (示例): 320000 Jiangsu (the default), 350000 Fujian: its own demo
        # key set and certificates, so two instances can recognise each other's certificates (issue 16).
        "DEMO_PROVINCE": os.environ.get("DEMO_PROVINCE", "320000"),
        # Issue 21: where stored files go (local: UPLOAD_DIR; database: the shared database, lms/storage.py), and
        # how many app hosts serve the site (above 1 the app refuses per-process rate limits and local files).
        "FILE_STORAGE": os.environ.get("FILE_STORAGE", "local"),
        "APP_HOSTS": int(os.environ.get("APP_HOSTS", "1")),
        # Issue 20 (运维设置, an operating choice, not policy): PostgreSQL's pool hands out connections without
        # testing each with a round trip first (DB_POOL_PRE_PING=1 turns that on: one more round trip per checkout,
        # a third on an autosave of two statements; quick runs measured 501 → 603 saves/s and p99 371 → 277 ms
        # without it); DB_POOL_RECYCLE (seconds) replaces connections older than that, before a firewall or the
        # server drops idle ones. A connection found dead (the server restarted) is answered 503 with Retry-After (lms.web) and
        # every connection the pool held then is replaced.
        "DB_POOL_PRE_PING": os.environ.get("DB_POOL_PRE_PING", "0") == "1",
        "DB_POOL_RECYCLE": int(os.environ.get("DB_POOL_RECYCLE", "1800")),
    }
    return cfg


DEFAULTS: dict = {
    "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": {"zh_Hans_CN": "简体中文", "en": "English"},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    # Per-route body caps (lms/bodylimit.py; 示例): a form without a file, the API's JSON, a visitor's form.
    "FORM_MAX_BYTES": 1024 * 1024,
    "API_MAX_BYTES": 4 * 1024 * 1024,
    "ANON_FORM_MAX_BYTES": 64 * 1024,
    "BOOTSTRAP_SERVE_LOCAL": True,
    "BOOTSTRAP_BOOTSWATCH_THEME": None,
    "RATELIMIT_HEADERS_ENABLED": True,
    "PAGE_SIZE": 20,
    # Login throttling: failures counted in a sliding window, per account and per client address.
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    # Per account AND address (issue 18): the first failures are free, then each doubles the wait, up to the cap.
    "LOGIN_FREE_FAILURES": 3,
    "LOGIN_MAX_DELAY_SECONDS": 15 * 60,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
    # A login session ends after 2 hours without a request, and 12 hours after it began whatever happens (issue 18).
    "SESSION_IDLE_SECONDS": 2 * 3600,
    "SESSION_ABSOLUTE_SECONDS": 12 * 3600,
    # Argon2id cost: the library's defaults (RFC 9106 low-memory profile).
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    # Lanes (threads) per hash, argon2-cffi's default; the test suite sets 1 with the cheapest cost (CI time).
    "ARGON2_PARALLELISM": 4,
    # Long work started by a request (certificate issuing, imports) runs in a background thread
    # (lms.jobs.background); True runs it inside the request instead (tests).
    "BACKGROUND_INLINE": False,
    # Public certificate verification: per-address limits of the verify page and JSON, and of the holder check
    # (typing the holder's ID number), overall and per certificate.
    "CERT_VERIFY_RATE_LIMIT": "1000 per hour",
    "CERT_HOLDER_CHECK_RATE_LIMIT": "5 per hour",  # 示例 (issue 18: 20 wrong ID numbers an hour was too many)
    "CERT_HOLDER_CHECK_PER_CERTIFICATE_LIMIT": "10 per day",  # 示例 (issue 18), from every address together
    # Verification log rows are written in batches by a background flusher; None = batched unless testing.
    "CERT_VERIFY_LOG_BATCHED": None,
    # The Open Badges 3.0 JWT's signature: "EdDSA" (Ed25519, the certificate's own key) or "ES256" (P-256, derived
    # from it, for OB3 verifiers without EdDSA; docs/verification.md). 示例 default.
    "CERT_JWT_ALG": "EdDSA",
    # Database contention (示例 values): how long a SQLite connection waits for another's write lock (seconds);
    # past it, and after DB_CONFLICT_RETRIES reruns of a request that hit a PostgreSQL serialization failure or
    # deadlock, the answer is 503 with Retry-After: DB_RETRY_AFTER seconds, nothing written.
    "DB_LOCK_TIMEOUT": 15.0,
    "DB_CONFLICT_RETRIES": 3,
    "DB_RETRY_AFTER": 5,
    # Issue 17: a testing app may move the platform's clock (lms/clock.py travel) to walk stories that take days or
    # years in the browser tests. Never read from the environment: only a test's config dict sets it.
    "CLOCK_TRAVEL": False,
    # The public verification page and JSON may be kept this many seconds by a proxy or browser (issue 20; 示例):
    # an ETag of the answer lets them revalidate (304), so a revocation shows at most this late.
    "CERT_VERIFY_CACHE_SECONDS": 30,
    # How many verification answers (page or JSON, per language) each server process keeps, under the ETag computed
    # from the certificate's stored fields (issue 20; certificates/public_answers.py); 0 keeps none. Memory, not policy:
    # a page is ~4 KB, a JSON ~0.6 KB, so at most ~40 MB a process (2,000 until the ninth round: a process then rebuilt
    # most pages it had already built, the verification page's p95 at full scale on PostgreSQL).
    "CERT_VERIFY_BODY_CACHE": 10000,
    # How many certificates' public records each server process keeps between scans (issue 20;
    # certificates.services.KeptRecords), used only while PostgreSQL's change feed (lms/changes.py) says nothing they
    # were read from has changed since; 0 keeps none. On SQLite none are kept (no feed): every scan reads, as it is
    # in-process there. Memory, not policy: a record is ~2.7 KB, ~27 MB a process at most.
    "CERT_VERIFY_RECORD_CACHE": 10000,
    # A kept record is used at most this many seconds after its read, whatever the feed says (运维设置: a bound beside
    # the feed's, not policy).
    "CERT_VERIFY_RECORD_SECONDS": 300.0,
    # How long the partner check waits for a partner province's status lists or verify JSON before it says the
    # status is unknown (seconds; an operating choice, not policy): long enough for a busy partner, short enough
    # that a verifier's phone is not left hanging.
    "PARTNER_STATUS_TIMEOUT": 3.0,
    # /healthz asks the database at most once in this many seconds per server process (issue 20; 运维设置, an
    # operating choice, not policy): a success is remembered that long, a failure never (503 at once, asked again on
    # the next request). 0 asks on every request.
    "HEALTHZ_DB_CHECK_SECONDS": 1.0,
    # The verification GETs' WSGI-level path in front of Flask (issue 20; certificates/fastpath.py): answers what
    # it can answer exactly as the Flask views do, hands the rest to Flask. False: every request goes through Flask.
    "CERT_VERIFY_FAST_PATH": True,
    # The exam autosave's WSGI-level path in front of Flask (issue 20; exams/fastpath.py): answers a save only when
    # every check Flask would make passes, checked the same way; hands everything else to Flask before any side
    # effect. False: every save through Flask.
    "EXAM_SAVE_FAST_PATH": True,
}
