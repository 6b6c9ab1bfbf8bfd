"""Operator commands for the certificate signing keys: ``flask cert-keys rotate``, ``flask cert-keys list`` and
``flask cert-keys seal`` (added to the app's CLI by ``certificates.wiring``)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from certificates import keys
from certificates.services.verification import seal_unsealed
from lms.db import db
from lms.templating import today_local

cert_keys = AppGroup("cert-keys", help="Certificate signing keys.")


@cert_keys.command("rotate")
def rotate_keys():
    """Start a new certificate signing key; earlier keys keep verifying what they signed."""
    kid = keys.create_key(current_app.config["CERT_KEY_DIR"], today_local())
    click.echo(f"new active certificate signing key: {kid}")


@cert_keys.command("list")
def list_keys():
    """List the certificate signing keys and their windows."""
    active = keys.active_kid(current_app.config["CERT_KEY_DIR"])
    for k in keys.list_keys(current_app.config["CERT_KEY_DIR"]):
        click.echo(f"{k.kid}  {k.valid_from} → {k.valid_until or '…'}{'  (active)' if k.kid == active else ''}")


@cert_keys.command("seal")
def seal_certificates():
    """Seal the certificates issued before seals existed, once each signature checks (faster verification)."""
    sealed = refused = 0
    for sealed, refused in seal_unsealed(db.session, current_app.config["CERT_KEY_DIR"]):
        click.echo(f"sealed {sealed}, not sealed {refused}", err=True)
    click.echo(f"sealed {sealed} certificate(s); {refused} left unsealed (their signature does not check with a "
               "key of this server: they are checked in full at every scan)")
