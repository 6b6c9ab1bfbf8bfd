"""Operator commands: ``flask --app wsgi <command>``."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.engine import Engine

from lms import auditchain, backup, demo, demo_guard, firstrun, keyarchive, restorecheck, scheduler
from lms import files_cli
from lms.auth import services
from lms.auth.models import User
from lms.db import db
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.orgs.models import Institution, Region
from lms.templating import today_local


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load the demo data (idempotent)."""
    with db.job_session() as session:
        refused = demo_guard.refusal(session, current_app.config["LMS_ENV"])
        if refused:
            raise click.ClickException(refused)
        counts = demo.seed(session, today_local())
    click.echo("demo data: " + ", ".join(f"{k}+{v}" for k, v in counts.items()))


@click.command("create-user")
@click.option("--username", prompt=True)
@click.option("--display-name", prompt="Display name")
@click.option("--role", type=click.Choice([r.value for r in Role]), prompt=True)
@click.option("--region-code", default="", help="GB/T 2260 code, for regulator admins")
@click.option("--institution-code", default="", help="unified social credit code, for institution staff")
@click.password_option()
@with_appcontext
def create_user(username, display_name, role, region_code, institution_code, password):
    """Create an account (trainees register themselves on the site)."""
    with db.job_session() as session:
        region = session.scalar(select(Region).where(Region.code == region_code)) if region_code else None
        inst = (
            session.scalar(select(Institution).where(Institution.credit_code == institution_code.upper()))
            if institution_code
            else None
        )
        try:
            user = services.create_user(
                session, username=username, password=password, display_name=display_name, role=Role(role),
                region=region, institution=inst,
            )
        except ValidationFailed as exc:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
        except DomainError as exc:
            raise click.ClickException(exc.message)
        click.echo(f"created user {user.username} ({user.role.value})")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", help="a label for the token")
@with_appcontext
def create_token(username, name):
    """Print a new API bearer token for USERNAME (shown once; only its hash is stored)."""
    with db.job_session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no such user: {username}")
        _tok, clear = services.create_token(session, user, name)
    click.echo(clear)


def _engine() -> Engine:
    return current_app.extensions["lms_db"].engine


@click.command("backup")
@click.option("--output", default=None, help="folder for the archive (default: instance/backups)")
@click.option("--keys", "keys_only", is_flag=True,
              help="write the sealed keys archive instead (field-encryption and signing keys, with a passphrase)")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--passphrase", envvar="LMS_BACKUP_PASSPHRASE", hidden=True, default=None)
@with_appcontext
def backup_cmd(output, keys_only, passphrase_file, passphrase):
    """Write a consistent backup (database + uploaded files) as one .tar.gz (mode 0600); with --keys, the
    keys archive that a restore needs beside it."""
    cfg = current_app.config
    out = output or str(Path(current_app.instance_path) / "backups")
    if keys_only:
        secret = firstrun.read_secret(passphrase_file, passphrase, "Passphrase for the keys archive", confirm=True)
        try:
            path = keyarchive.write(out, cfg["FIELD_ENCRYPTION_KEY"], cfg.get("SECRET_KEY"), cfg["CERT_KEY_DIR"], secret)
        except keyarchive.KeyArchiveError as exc:
            raise click.ClickException(str(exc))
        click.echo(str(path))
        return
    path = backup.backup(_engine(), cfg["DATABASE_URL"], cfg["UPLOAD_DIR"], out, extra=restorecheck.key_fingerprints(cfg))
    click.echo(str(path))


def _open_keys(keys_file, passphrase_file, passphrase) -> dict | None:
    """The keys archive's payload, opened before anything is replaced (a wrong passphrase stops the restore)."""
    if not keys_file:
        return None
    secret = firstrun.read_secret(passphrase_file, passphrase, "Passphrase of the keys archive", confirm=False)
    try:
        return keyarchive.read(keys_file, secret)
    except keyarchive.KeyArchiveError as exc:
        raise click.ClickException(str(exc))


def _install_keys(app: Flask, payload: dict) -> None:
    """Put the archive's keys in place and use its field-encryption key for the checks that follow."""
    try:
        for line in keyarchive.install(payload, Path(app.instance_path), app.config["CERT_KEY_DIR"],
                                       app.config.get("ENV_FIELD_ENCRYPTION_KEY")):
            click.echo(line)
    except keyarchive.KeyArchiveError as exc:
        raise click.ClickException(str(exc))
    restorecheck.use_field_key(app, payload["FIELD_ENCRYPTION_KEY"])


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option("--keys", "keys_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="the keys archive made by `backup --keys` (needed unless this installation has the keys)")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--passphrase", envvar="LMS_BACKUP_PASSPHRASE", hidden=True, default=None)
@with_appcontext
def restore_cmd(archive, yes, keys_file, passphrase_file, passphrase):
    """Replace the database and uploaded files with ARCHIVE's (stop the web and scheduler first), then check that
    personal data decrypts and certificates verify before saying it succeeded."""
    app = current_app._get_current_object()
    manifest = backup.read_manifest(archive)
    payload = _open_keys(keys_file, passphrase_file, passphrase)
    if not yes:
        click.confirm(f"Replace ALL current data with the backup of {manifest['created_at']}?", abort=True)
    try:
        backup.restore(_engine(), app.config["DATABASE_URL"], app.config["UPLOAD_DIR"], archive)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc))
    restorecheck.clear_leases(app)  # the backed-up scheduler's lease: a restarted scheduler catches up at once
    total = sum(manifest["row_counts"].values())
    click.echo(f"database and uploads: {total} rows in {len(manifest['row_counts'])} tables from {manifest['created_at']}")
    if payload is not None:
        _install_keys(app, payload)
    checked, problems = restorecheck.verify(app, manifest)
    for line in checked:
        click.echo(f"checked: {line}")
    if problems:
        raise click.ClickException("the restored system is NOT usable yet:\n- " + "\n- ".join(problems))
    click.echo(f"restored from {manifest['created_at']}: data readable, certificates verify")


@click.command("scheduler")
@with_appcontext
def scheduler_cmd():
    """Run the scheduled jobs in this process (run exactly one of these)."""
    scheduler.run_blocking(current_app._get_current_object())


@click.command("run-job")
@click.argument("job_id")
@with_appcontext
def run_job(job_id):
    """Run one scheduled job now."""
    click.echo(scheduler.run_now(current_app._get_current_object(), job_id))


@click.group("audit")
def audit_cmd():
    """The audit trail's hash chain: verify it, write a day's anchor, export the anchors."""


@audit_cmd.command("verify")
@click.option("--anchors", "anchors_file", type=click.Path(exists=True, dir_okay=False),
              help="anchors exported earlier (`flask audit anchors`), kept outside the database")
@with_appcontext
def audit_verify(anchors_file):
    """Walk the chain; name the first broken link (exit status 1) or say how many events hold."""
    anchors = []
    if anchors_file:
        anchors = [json.loads(line) for line in Path(anchors_file).read_text(encoding="utf-8").splitlines()
                   if line.strip()]
    with db.job_session() as session:
        verdict = auditchain.verify(session, anchors)
    if not verdict.ok:
        click.echo(f"审计链断裂：{verdict.broken}（此前 {verdict.checked} 条完好）", err=True)
        raise SystemExit(1)
    click.echo(f"审计链完好：{verdict.checked} 条事件")


@audit_cmd.command("anchor")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="default: yesterday (China time)")
@with_appcontext
def audit_anchor(day):
    """Write (once) the anchor of a day: where the chain stood when it ended."""
    day = day.date() if day else today_local() - dt.timedelta(days=1)
    with db.job_session() as session:
        anchor = auditchain.write_anchor(session, day)
        click.echo(json.dumps(auditchain.anchor_json(anchor)))


@audit_cmd.command("anchors")
@with_appcontext
def audit_anchors():
    """Export every anchor, one JSON object a line (keep the output outside the database)."""
    with db.job_session() as session:
        for row in auditchain.export_anchors(session):
            click.echo(json.dumps(row))


COMMANDS = (seed_demo, create_user, create_token, backup_cmd, restore_cmd, scheduler_cmd, run_job, audit_cmd)


def init_app(app: Flask) -> None:
    """Add the operator commands to ``flask``."""
    for command in COMMANDS:
        app.cli.add_command(command)
    firstrun.init_app(app)  # `setup`, the first run at a bureau
    app.cli.add_command(files_cli.files_cmd)  # `files move` / `files verify` (issue 21, lms/storage.py)
