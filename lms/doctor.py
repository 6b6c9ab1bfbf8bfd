"""Start-up checks of a production site (``LMS_ENV=production``), and ``flask --app wsgi doctor``.

The same checks run in three places: when the app is built in production (each finding logged once on
standard error, errors as ERROR, the rest as WARNING), in gunicorn's master before it forks workers (with the
real number of workers; an error stops it), and on demand with ``flask --app wsgi doctor`` (exit status 1 on
an error). An error is a setting the site must not run without: no ``PUBLIC_BASE_URL`` (certificates are then
refused, see ``certificates.services``); warnings are settings that work but are unsafe.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask, request
from sqlalchemy import make_url, select

from lms import lean
from lms.auth.models import User
from lms.db import db
from lms.domain import Role

log = logging.getLogger("lms.doctor")

ERROR, WARNING, OK = "error", "warning", "ok"
CJK_FONTS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"]
MEMORY_STORAGES = ("memory://", "lms-memory://")


@dataclass(frozen=True)
class Finding:
    level: str
    name: str
    message: str

    def __str__(self) -> str:
        return f"[{self.level.upper():7}] {self.name}: {self.message}"


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)  # gunicorn.conf.py's default: a worker a core, at least two


PDF_TEXT_FONTS = ["/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"]


def cjk_font_present() -> bool:
    if any(Path(p).exists() for p in CJK_FONTS):
        return True
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return False
        return "NotoSansCJK" in out
    return False


def config_checks(cfg: dict, workers: int | None = None) -> list[Finding]:
    """Checks of the settings alone (no database): what start-up logs."""
    out: list[Finding] = []
    production = cfg.get("LMS_ENV") == "production"
    base = (cfg.get("PUBLIC_BASE_URL") or "").strip()
    if not base:
        out.append(Finding(ERROR if production else WARNING, "PUBLIC_BASE_URL",
                           "not set: certificates are refused (their QR codes must point at this site's public "
                           "address); set PUBLIC_BASE_URL=https://your.host once, for good"))
    elif production and not base.startswith("https://"):
        out.append(Finding(WARNING, "PUBLIC_BASE_URL", f"{base} is not https: sign-in and certificates travel in clear"))
    elif production and ("127.0.0.1" in base or "localhost" in base):
        out.append(Finding(WARNING, "PUBLIC_BASE_URL", f"{base} is a loopback address: no one else can verify a certificate"))
    else:
        out.append(Finding(OK, "PUBLIC_BASE_URL", base))
    if base.startswith("https://") and not cfg.get("SESSION_COOKIE_SECURE"):
        out.append(Finding(WARNING, "SESSION_COOKIE_SECURE",
                           "the site is https but session cookies go without Secure (plain HTTP would carry them): "
                           "set SESSION_COOKIE_SECURE=1"))
    storage = cfg.get("RATELIMIT_STORAGE_URI", "")
    n = workers if workers is not None else (cfg.get("WEB_WORKERS") or default_workers())
    if storage.startswith(MEMORY_STORAGES) and n > 1:
        out.append(Finding(WARNING, "RATELIMIT_STORAGE_URI",
                           f"rate limits are kept in memory, per process, with {n} web workers: each worker counts "
                           f"on its own (login throttling {n}× weaker); set RATELIMIT_STORAGE_URI=redis://… or "
                           "memcached://…"))
    if production and base.startswith("https://") and not cfg.get("TRUSTED_PROXIES"):
        out.append(Finding(WARNING, "TRUSTED_PROXIES",
                           "the site is served over https through a proxy (nginx) but TRUSTED_PROXIES=0: rate limits "
                           "and logs see the proxy's address for every visitor; set TRUSTED_PROXIES=1"))
    if not cjk_font_present():
        out.append(Finding(WARNING if not production else ERROR, "fonts",
                           "no CJK font (Noto Sans CJK): certificates cannot be drawn; apt-get install fonts-noto-cjk"))
    if not any(Path(p).exists() for p in PDF_TEXT_FONTS):  # certificates.rendering.TEXT_FONT_PATHS
        out.append(Finding(WARNING if not production else ERROR, "fonts",
                           "no TrueType CJK font for the certificate PDF's text layer (WenQuanYi Zen Hei): PDFs "
                           "cannot be made; apt-get install fonts-wqy-zenhei"))
    url = cfg.get("DATABASE_URL") or ""
    if production and url.startswith("sqlite"):
        out.append(Finding(WARNING, "DATABASE_URL", "SQLite in production: use PostgreSQL (DATABASE_URL=postgresql+psycopg://…)"))
    if url.startswith("postgresql") and not shutil.which("pg_dump"):
        out.append(Finding(WARNING, "backups", "pg_dump not found: `flask backup` needs Debian's postgresql-client"))
    key_dir = Path(cfg.get("CERT_KEY_DIR") or "")
    if not (key_dir / "keyring.json").exists():
        out.append(Finding(WARNING, "CERT_KEY_DIR", f"no signing key in {key_dir}: run `python -m lms.secrets init`"))
    return out


def database_checks(app: Flask) -> list[Finding]:
    out: list[Finding] = []
    production = app.config.get("LMS_ENV") == "production"
    try:
        with db.job_session() as s:
            admins = s.scalar(select(User.id).where(User.role == Role.system_admin).limit(1))
            demo = s.scalar(select(User.id).where(User.username.in_(["jiangsu_admin", "nt_staff", "trainee01"])).limit(1))
    except Exception as exc:  # noqa: BLE001 - a report, not a crash
        return [Finding(ERROR, "database", f"cannot read the database ({type(exc).__name__}): run `alembic upgrade head`?")]
    out.append(Finding(OK, "database", make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)))
    if admins is None:
        out.append(Finding(WARNING, "setup", "no system administrator: run `flask --app wsgi setup`"))
    if demo is not None and production:
        out.append(Finding(ERROR, "demo", "demo accounts exist in a production database (public password): remove them"))
    return out


def report_startup(app: Flask, workers: int | None = None) -> list[Finding]:
    """Log each finding once (production only): called by the factory and by gunicorn's master."""
    if app.config.get("LMS_ENV") != "production":
        return []
    findings = config_checks(app.config, workers)
    app.extensions["lms_doctor"] = findings
    for f in findings:
        if f.level != OK:
            log.log(logging.ERROR if f.level == ERROR else logging.WARNING, "start-up check: %s", f)
    return findings


def init_app(app: Flask) -> None:
    report_startup(app)
    warned: list[bool] = []

    @app.before_request
    @lean.platform_hook
    def _proxy_without_trust():
        # A request forwarded by a proxy while TRUSTED_PROXIES=0: say so once per process.
        if not warned and not app.config.get("TRUSTED_PROXIES") and request.headers.get("X-Forwarded-For"):
            warned.append(True)
            log.warning("start-up check: [WARNING] TRUSTED_PROXIES: requests arrive through a proxy "
                        "(X-Forwarded-For) but TRUSTED_PROXIES=0: every visitor has the proxy's address")

    @app.cli.command("doctor")
    @click.option("--workers", type=int, default=None, help="number of web workers (default: gunicorn.conf.py's)")
    def doctor(workers):
        """Check the settings and the database for a production site; exit 1 on an error."""
        findings = config_checks(app.config, workers) + database_checks(app)
        click.echo(f"LMS_ENV={app.config.get('LMS_ENV')}")
        for f in findings:
            click.echo(str(f))
        errors = [f for f in findings if f.level == ERROR]
        click.echo(f"{len(errors)} error(s), {sum(f.level == WARNING for f in findings)} warning(s)")
        if errors:
            raise SystemExit(1)
