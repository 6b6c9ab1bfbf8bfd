"""Signing keys live outside the database: created by the setup command, rotated by the CLI, all published."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from certificates import keys, services
from certificates.models import Certificate, CertificateStatus
from lms.jobs.services import REGISTRY
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]


def test_secrets_init_creates_the_first_signing_key_once(tmp_path):
    env = {**os.environ, "LMS_INSTANCE_PATH": str(tmp_path / "instance"), "CERT_KEY_DIR": str(tmp_path / "keys")}
    env.pop("SECRET_KEY", None)
    first = subprocess.run([sys.executable, "-m", "lms.secrets", "init"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "certificate signing key" in first.stdout and "created" in first.stdout
    kid = keys.active_kid(tmp_path / "keys")
    assert kid and stat.S_IMODE((tmp_path / "keys" / f"{kid}.pem").stat().st_mode) == 0o600
    second = subprocess.run([sys.executable, "-m", "lms.secrets", "init"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert "left unchanged" in second.stdout and keys.active_kid(tmp_path / "keys") == kid


def test_cli_rotate_makes_a_new_active_key(app, tmp_path, monkeypatch):
    key_dir = tmp_path / "keys"
    keys.create_key(key_dir, TODAY)
    monkeypatch.setitem(app.config, "CERT_KEY_DIR", str(key_dir))
    result = app.test_cli_runner().invoke(args=["cert-keys", "rotate"])
    assert result.exit_code == 0, result.output
    listed = app.test_cli_runner().invoke(args=["cert-keys", "list"]).output
    assert len(keys.list_keys(key_dir)) == 2 and "(active)" in listed
    doc = keys.public_document(key_dir)
    assert doc["keys"][0]["valid_until"] is not None and doc["keys"][1]["valid_until"] is None
    assert "PRIVATE" not in json.dumps(doc)


def test_expiry_job_is_registered_and_idempotent(db, world, cw, cert_cfg, completion_rule):
    import datetime as dt

    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY - dt.timedelta(days=4 * 365))
    from lms.features import import_jobs

    import_jobs()  # what the scheduler does
    job = REGISTRY["certificates-expire"]
    now = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.timezone.utc)
    assert job.func(db, now) == {"expired": 1}
    assert job.func(db, now) == {"expired": 0}
    assert db.scalar(select(Certificate.status).where(Certificate.id == cert.id)) == CertificateStatus.expired


def test_verifiers_demo_key_sets_per_province(tmp_path):
    """Jiangsu's demo key set (demo-) and Fujian's (demo-fj-): a key dir switched from one to the other gets the
    other's key, and each stays put when asked again."""
    import datetime as dt

    from certificates import keys as ks

    js = ks.ensure_demo_key(tmp_path, dt.date(2026, 1, 1))
    assert js.startswith("demo-") and not js.startswith("demo-fj-")
    assert ks.ensure_demo_key(tmp_path, dt.date(2026, 1, 2)) == js
    fj = ks.ensure_demo_key(tmp_path, dt.date(2026, 1, 3), prefix="demo-fj-")
    assert fj.startswith("demo-fj-") and ks.ensure_demo_key(tmp_path, dt.date(2026, 1, 4), prefix="demo-fj-") == fj
    assert ks.ensure_demo_key(tmp_path, dt.date(2026, 1, 5)) not in (js, fj)  # back to a Jiangsu key, not Fujian's
    import pytest

    with pytest.raises(ValueError):
        ks.ensure_demo_key(tmp_path, dt.date(2026, 1, 6), prefix="cqo-")
