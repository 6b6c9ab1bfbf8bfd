"""The offline verifier, run as operators run it: a separate process with only the published key file."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from certificates import keys, rendering, services
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "certificates.verify", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def issued(db, world, cw, cert_cfg, completion_rule, tmp_path):
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    keyfile = tmp_path / "cqo-certificate-keys.json"
    keyfile.write_text(json.dumps(keys.public_document(cert_cfg.key_dir)), encoding="utf-8")
    url = services.verify_url(cert, cert_cfg.base_url)
    args = dict(snapshot=cert.snapshot, number=cert.number, issued_on=cert.issued_on.isoformat(),
                valid_until=cert.valid_until.isoformat(), url=url)
    png, pdf = tmp_path / "c.png", tmp_path / "c.pdf"
    png.write_bytes(rendering.render_png(**args))
    pdf.write_bytes(rendering.render_pdf(**args))
    return cert, url, keyfile, png, pdf


def test_accepts_genuine_url_png_and_pdf(issued):
    cert, url, keyfile, png, pdf = issued
    for source in (url, png, pdf):
        res = run(source, "--keys", keyfile)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "签名有效" in res.stdout and cert.number in res.stdout and "王芳" in res.stdout
    res = run(png, "--keys", keyfile, "--json")
    assert json.loads(res.stdout)["fields"]["number"] == cert.number


def test_rejects_tampered_truncated_and_unknown_key(issued, tmp_path):
    cert, url, keyfile, _png, _pdf = issued
    base, signed = url.split("#")
    body, sig = signed.split(".")
    from certificates.signing import b64d, b64e

    forged_fields = json.loads(b64d(body))
    forged_fields["holder_name"] = "李四"
    forged = base + "#" + b64e(json.dumps(forged_fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()) + "." + sig
    res = run(forged, "--keys", keyfile)
    assert res.returncode == 1 and "李四" not in res.stdout
    flipped = base + "#" + body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    assert run(flipped, "--keys", keyfile).returncode == 1
    assert run(url[:-30], "--keys", keyfile).returncode == 3
    assert run(base, "--keys", keyfile).returncode == 3
    other = tmp_path / "other"
    keys.create_key(other, TODAY)
    otherfile = tmp_path / "other.json"
    otherfile.write_text(json.dumps(keys.public_document(other)), encoding="utf-8")
    assert run(url, "--keys", otherfile).returncode == 2
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), "white").save(blank)
    assert run(blank, "--keys", keyfile).returncode == 3
