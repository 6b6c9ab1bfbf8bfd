"""Operator commands: ``flask --app wsgi <command>``."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from lms import demo_guard, firstrun, keyarchive, restorecheck
from lms.db import db
from lms.domain import Role


def init_app(app: Flask) -> None:
    firstrun.init_app(app)  # `setup`, the first run at a bureau

    @app.cli.command("seed-demo")
    def seed_demo():
        """Load the demo data (idempotent)."""
        from lms import demo
        from lms.templating import today_local

        with db.job_session() as session:
            refused = demo_guard.refusal(session, app.config.get("LMS_ENV", "development"))
            if refused:
                raise click.ClickException(refused)
            counts = demo.seed(session, today_local())
        click.echo("demo data: " + ", ".join(f"{k}+{v}" for k, v in counts.items()))

    @app.cli.command("create-user")
    @click.option("--username", prompt=True)
    @click.option("--display-name", prompt="Display name")
    @click.option("--role", type=click.Choice([r.value for r in Role]), prompt=True)
    @click.option("--region-code", default="", help="GB/T 2260 code, for regulator admins")
    @click.option("--institution-code", default="", help="unified social credit code, for institution staff")
    @click.password_option()
    def create_user(username, display_name, role, region_code, institution_code, password):
        """Create an account (trainees register themselves on the site)."""
        from lms.auth import services
        from lms.errors import DomainError, ValidationFailed
        from lms.orgs.models import Institution, Region

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

    @app.cli.command("create-token")
    @click.argument("username")
    @click.option("--name", default="cli", help="a label for the token")
    def create_token(username, name):
        """Print a new API bearer token for USERNAME (shown once; only its hash is stored)."""
        from lms.auth import services
        from lms.auth.models import User

        with db.job_session() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise click.ClickException(f"no such user: {username}")
            _tok, clear = services.create_token(session, user, name)
        click.echo(clear)

    @app.cli.command("backup")
    @click.option("--output", default=None, help="folder for the archive (default: instance/backups)")
    @click.option("--keys", "keys_only", is_flag=True,
                  help="write the sealed keys archive instead (field-encryption and signing keys, with a passphrase)")
    @click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None)
    @click.option("--passphrase", envvar="LMS_BACKUP_PASSPHRASE", hidden=True, default=None)
    def backup_cmd(output, keys_only, passphrase_file, passphrase):
        """Write a consistent backup (database + uploaded files) as one .tar.gz (mode 0600); with --keys, the
        keys archive that a restore needs beside it."""
        from pathlib import Path

        from lms import backup

        out = output or str(Path(app.instance_path) / "backups")
        if keys_only:
            secret = firstrun.read_secret(passphrase_file, passphrase, "Passphrase for the keys archive", confirm=True)
            try:
                path = keyarchive.write(out, app.config["FIELD_ENCRYPTION_KEY"], app.config.get("SECRET_KEY"),
                                        app.config["CERT_KEY_DIR"], secret)
            except keyarchive.KeyArchiveError as exc:
                raise click.ClickException(str(exc))
            click.echo(str(path))
            return
        path = backup.backup(db_engine(), app.config["DATABASE_URL"], app.config["UPLOAD_DIR"], out,
                             extra=restorecheck.key_fingerprints(app.config))
        click.echo(str(path))

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False))
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    @click.option("--keys", "keys_file", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="the keys archive made by `backup --keys` (needed unless this installation has the keys)")
    @click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None)
    @click.option("--passphrase", envvar="LMS_BACKUP_PASSPHRASE", hidden=True, default=None)
    def restore_cmd(archive, yes, keys_file, passphrase_file, passphrase):
        """Replace the database and uploaded files with ARCHIVE's (stop the web and scheduler first)."""
        from lms import backup

        manifest = backup.read_manifest(archive)
        payload = None
        if keys_file:  # opened first: a wrong passphrase stops before anything is replaced
            secret = firstrun.read_secret(passphrase_file, passphrase, "Passphrase of the keys archive", confirm=False)
            try:
                payload = keyarchive.read(keys_file, secret)
            except keyarchive.KeyArchiveError as exc:
                raise click.ClickException(str(exc))
        if not yes:
            click.confirm(f"Replace ALL current data with the backup of {manifest['created_at']}?", abort=True)
        try:
            backup.restore(db_engine(), app.config["DATABASE_URL"], app.config["UPLOAD_DIR"], archive)
        except backup.BackupError as exc:
            raise click.ClickException(str(exc))
        restorecheck.clear_leases(app)  # the backed-up scheduler's lease: a restarted scheduler catches up at once
        total = sum(manifest["row_counts"].values())
        click.echo(f"database and uploads: {total} rows in {len(manifest['row_counts'])} tables from {manifest['created_at']}")
        if payload is not None:
            try:
                for line in keyarchive.install(payload, Path(app.instance_path), app.config["CERT_KEY_DIR"],
                                               app.config.get("ENV_FIELD_ENCRYPTION_KEY")):
                    click.echo(line)
            except keyarchive.KeyArchiveError as exc:
                raise click.ClickException(str(exc))
            restorecheck.use_field_key(app, payload["FIELD_ENCRYPTION_KEY"])
        checked, problems = restorecheck.verify(app, manifest)
        for line in checked:
            click.echo(f"checked: {line}")
        if problems:
            raise click.ClickException("the restored system is NOT usable yet:\n- " + "\n- ".join(problems))
        click.echo(f"restored from {manifest['created_at']}: data readable, certificates verify")

    def db_engine():
        return app.extensions["lms_db"].engine

    @app.cli.command("scheduler")
    def scheduler():
        """Run the scheduled jobs in this process (run exactly one of these)."""
        from lms import scheduler as sched

        sched.run_blocking(app)

    @app.cli.command("run-job")
    @click.argument("job_id")
    def run_job(job_id):
        """Run one scheduled job now."""
        from lms import scheduler as sched

        click.echo(sched.run_now(app, job_id))
