"""Issue 16, the offline verifier's last point: where the province enables it, the certificate carries the holder's
photo, and the verifier ends with 「请核对持证人照片：指纹 …」.

The photo is re-encoded without metadata (EXIF stripped), required to issue where enabled, printed with its
fingerprint on the PNG and the PDF (whose JPEG is the stored file byte for byte), signed in the compact QR token
(format 3; formats 1 and 2 keep verifying) and checked by the command-line verifier against a PDF's photo."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from certificates import compact, keys, photos, rendering, services, signing, verdicts
from certificates.models import CertificateSettings, HolderPhoto
from lms.errors import DomainError, ValidationFailed
from lms.settingbasis import BasisKind, basis_of
from tests.cert_factories import BASE_URL, completion_rule, cw  # noqa: F401
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]


def jpeg_with_exif(size=(600, 900), colour=(180, 120, 90), orientation: int | None = None) -> bytes:
    """A camera-like JPEG carrying EXIF (a GPS-looking tag, the camera's make, an orientation)."""
    img = Image.new("RGB", size, colour)
    img.paste((20, 40, 200), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0131] = "SecretPhoneApp 1.0"  # Software
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


@pytest.fixture
def cfg(tmp_path) -> services.CertConfig:
    key_dir = tmp_path / "keys"
    keys.create_key(key_dir, TODAY)
    return services.CertConfig(str(key_dir), BASE_URL, upload_dir=str(tmp_path / "uploads"))


@pytest.fixture
def photo_province(db, world):
    """Jiangsu prints the holder's photo (its bureau saved the setting)."""
    services.save_settings(db, world.province_admin, world.jiangsu, "{region_code}-{tier_code}-{year}-{serial:05d}",
                           {}, holder_photo=True)
    return world.jiangsu


# ------------------------------------------------------------------ the upload
def test_verifiers_photo_reencoded_without_exif(db, world, cfg):
    original = jpeg_with_exif(orientation=6)  # "rotate 90° clockwise to display": the kept photo is upright
    row = photos.save_photo(db, world.trainee, io.BytesIO(original), "IMG_0001.JPG", cfg.upload_dir)
    stored = photos.photo_of(db, world.trainee.id)
    assert stored is row and (row.width, row.height) == photos.SIZE
    data = (Path(cfg.upload_dir) / db.get(photos.uploads.StoredFile, row.stored_file_id).relative_path).read_bytes()
    assert data != original and b"CameraMaker" not in data and b"SecretPhoneApp" not in data and b"Exif" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == photos.SIZE and not img.getexif() and "icc_profile" not in img.info
    assert row.fingerprint == compact.photo_text(hashlib.sha256(data).digest()[:8])
    assert len(row.fingerprint) == 19 and row.fingerprint.count("-") == 3
    # a landscape 900×600 after the EXIF rotation is portrait; nothing of the original's 600×900 framing is lost upright
    again = photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif(colour=(10, 200, 10))), "b.jpg", cfg.upload_dir)
    assert again.id == row.id and again.fingerprint != compact.photo_text(hashlib.sha256(data).digest()[:8])


@pytest.mark.parametrize("data, words", [
    (b"", "为空"),
    (b"MZ\x90\x00" + b"\x00" * 100, "JPEG 或 PNG"),
    (b"%PDF-1.4\n" + b"0" * 100, "JPEG 或 PNG"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "损坏"),
    ("small", "太小"),
    ("big", "过大"),
])
def test_verifiers_photo_bad_files_refused_in_chinese(db, world, cfg, data, words):
    if data == "small":
        buf = io.BytesIO()
        Image.new("RGB", (200, 260), "white").save(buf, "PNG")
        data = buf.getvalue()
    elif data == "big":
        data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (photos.MAX_UPLOAD_BYTES + 10)
    with pytest.raises(ValidationFailed) as err:
        photos.save_photo(db, world.trainee, io.BytesIO(data), "x.jpg", cfg.upload_dir)
    assert words in err.value.errors["photo"]
    assert photos.photo_of(db, world.trainee.id) is None
    assert not (Path(cfg.upload_dir).exists() and any(p.is_file() for p in Path(cfg.upload_dir).rglob("*.jpeg")))


def test_verifiers_photo_png_with_transparency_and_only_trainees(db, world, cfg):
    buf = io.BytesIO()
    Image.new("RGBA", (300, 400), (0, 0, 0, 0)).save(buf, "PNG")
    row = photos.save_photo(db, world.trainee, io.BytesIO(buf.getvalue()), "p.png", cfg.upload_dir)
    assert row.fingerprint
    with pytest.raises(DomainError):
        photos.save_photo(db, world.staff_nt, io.BytesIO(buf.getvalue()), "p.png", cfg.upload_dir)


# ------------------------------------------------------------------ the setting and the issue gate
def test_verifiers_photo_setting_off_by_default_and_labelled_province(db, world, photo_province):
    row = db.query(CertificateSettings).filter_by(province_id=world.jiangsu.id).one()
    assert row.holder_photo is True
    assert basis_of(db, row, "holder_photo").kind is BasisKind.province
    assert photos.photo_required(db, world.jiangsu) and not photos.photo_required(db, world.fujian)
    assert CertificateSettings.__table__.c.holder_photo.server_default is not None


def test_verifiers_photo_required_to_issue_where_enabled(db, world, cw, cfg, completion_rule, photo_province):
    completion_rule("test_ok")
    with pytest.raises(DomainError) as err:
        services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    assert "照片" in str(err.value) and "不能发证" in str(err.value)
    photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif()), "me.jpg", cfg.upload_dir)
    cert = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    fp = photos.photo_of(db, world.trainee.id).fingerprint
    assert cert.snapshot["photo_fp"] == fp and cert.snapshot["photo_file"].endswith(".jpeg")
    assert services.printed_fields(cert)["photo"] == fp
    assert "photo" not in services.signed_fields(cert)  # the old JSON signed part (format 1 links) is unchanged


def test_verifiers_no_photo_where_not_enabled(db, world, cw, cfg, completion_rule):
    completion_rule("test_ok")
    photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif()), "me.jpg", cfg.upload_dir)
    cert = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    assert "photo_fp" not in cert.snapshot
    token = compact.token_from_url(services.qr_url(cert, cfg))
    assert compact.split(token)[1][0] >> 4 == 2  # format 2, as before


# ------------------------------------------------------------------ the compact token, format 3
FIELDS = {"holder_name": "王芳", "number": "320600-B-2026-00001", "tier": "basic", "issued_on": "2026-11-22",
          "valid_until": "2029-11-21", "kid": "cqo-2026-a"}


def test_verifiers_compact_format_3_round_trip_and_old_formats_verify():
    key = signing_key = Ed25519PrivateKey.generate()
    published = {"cqo-2026-a": {"key": key.public_key(), "valid_from": "2026-01-01", "valid_until": None}}
    fp = "1A2B-3C4D-5E6F-7081"
    tokens = {1: compact.sign(signing_key, FIELDS), 2: compact.sign(signing_key, {**FIELDS, "status_index": 130}),
              3: compact.sign(signing_key, {**FIELDS, "status_index": 130, "photo": fp})}
    for version, token in tokens.items():
        res = compact.verify(token, published)
        assert res.ok and compact.split(token)[1][0] >> 4 == version
        assert res.fields.get("photo") == (fp if version == 3 else None)
    assert len(tokens[3]) - len(tokens[2]) in (12, 13)  # 8 bytes: 12.8 base32 characters
    payload, body, sig = compact.split(tokens[3])
    assert payload.photo == bytes.fromhex("1A2B3C4D5E6F7081")
    # the fingerprint is signed: change one bit of it and the signature fails
    at = body.index(payload.photo)
    bent = body[:at] + bytes([body[at] ^ 1]) + body[at + 1:]
    assert compact.verify(compact.b32encode(bent + sig), published).reason == "bad_signature"
    with pytest.raises(compact.CompactError):
        compact.unpack(body[:at + 4])  # truncated inside the fingerprint
    with pytest.raises(compact.CompactError) as err:
        compact.sign(signing_key, {**FIELDS, "photo": fp})  # a photo needs format 2's status index first
    assert err.value.reason == "bad_photo"
    with pytest.raises(compact.CompactError):
        compact.photo_bytes("1A2B-3C4D")


def test_verifiers_photo_fingerprint_keeps_the_qr_small():
    """The Jiangsu host, a four-character name, a two-byte status index: still version 8 at M (49 modules) with the
    fingerprint, as printed by the renderer's encoder; a longer name goes to version 9."""
    key = Ed25519PrivateKey.generate()
    fields = {**FIELDS, "holder_name": "欧阳建国", "status_index": 12000, "photo": "1A2B-3C4D-5E6F-7081"}
    url = compact.qr_url("https://cqo.amr.jiangsu.gov.cn", compact.sign(key, fields))
    assert len(url) == 219 and compact.is_alphanumeric(url)
    assert rendering._qr_modules(url).size[0] == 17 + 4 * 8
    longer = compact.qr_url("https://cqo.amr.jiangsu.gov.cn", compact.sign(key, {**fields, "holder_name": "欧阳建国华"}))
    assert rendering._qr_modules(longer).size[0] == 17 + 4 * 9


# ------------------------------------------------------------------ the verdict, the files, the CLI
def _checked(photo: str | None):
    fields = {**FIELDS, **({"photo": photo} if photo else {})}
    return signing.Checked(True, fields, "ok")


def test_verifiers_verdict_ends_with_the_photo_fingerprint():
    v = verdicts.offline_verdict(_checked("1A2B-3C4D-5E6F-7081"), dt.date(2027, 1, 1))
    assert v.lines()[-1] == v.compare and v.compare.endswith("请核对持证人照片：指纹 1A2B-3C4D-5E6F-7081")
    assert "  照片指纹：1A2B-3C4D-5E6F-7081" in v.details
    plain = verdicts.offline_verdict(_checked(None), dt.date(2027, 1, 1))
    assert "照片" not in plain.compare and plain.compare.endswith("2029-11-21）")
    refused = verdicts.offline_verdict(_checked("1A2B-3C4D-5E6F-7081"), dt.date(2027, 1, 1),
                                       photo_fingerprints=["0000-0000-0000-0000"])
    assert refused.code == "photo_mismatch" and not refused.ok
    assert refused.compare.endswith("请核对持证人照片：指纹 1A2B-3C4D-5E6F-7081")


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "certificates.verify", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_verifiers_photo_printed_signed_and_checked_by_the_cli(db, world, cw, cfg, completion_rule, photo_province,
                                                               tmp_path):
    completion_rule("test_ok")
    photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif()), "me.jpg", cfg.upload_dir)
    cert = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    fp = cert.snapshot["photo_fp"]
    args = services.render_args(cert, cfg)
    stored = args["photo"]
    assert photos.fingerprint(stored) == fp
    png = services.certificate_file(cert, "png", cfg).data
    pdf = services.certificate_file(cert, "pdf", cfg).data
    # the PDF carries the stored JPEG byte for byte, and prints the fingerprint (in its text layer too)
    assert stored in rendering.photos_from_pdf(pdf)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, timeout=60).stdout.decode()
    assert fp in text.replace(" ", "") or fp in text
    # the PNG prints the photo in the box (not white there) where a certificate without it stays white
    left, top, w, h = rendering._photo_box()
    with Image.open(io.BytesIO(png)) as page:
        box = page.convert("L").crop((left, top, left + w, top + h))
        assert box.getextrema()[0] < 200
    plain_png = rendering.render_png(**{**args, "photo": None, "snapshot": {
        k: v for k, v in cert.snapshot.items() if not k.startswith("photo")}})
    with Image.open(io.BytesIO(plain_png)) as page:
        assert page.convert("L").crop((left, top, left + w, top + h)).getextrema() == (255, 255)
    # the printed code is format 3 and the command line ends with the photo line, and checks the PDF's photo
    assert compact.split(compact.token_from_url(services.qr_url(cert, cfg)))[1][0] >> 4 == 3
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(json.dumps(keys.public_document(cfg.key_dir)), encoding="utf-8")
    (tmp_path / "c.pdf").write_bytes(pdf)
    (tmp_path / "c.png").write_bytes(png)
    out = run(tmp_path / "c.pdf", "--keys", keyfile)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1].endswith(f"请核对持证人照片：指纹 {fp}") and verdicts.PHOTO_MATCHES in lines
    out = run(tmp_path / "c.png", "--keys", keyfile)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1].endswith(f"请核对持证人照片：指纹 {fp}")
    assert verdicts.PHOTO_MATCHES not in out.stdout  # a picture of the page: the photo cannot be hashed
    # a PDF whose photo was swapped (same signed code) is refused
    other = photos.reencode(jpeg_with_exif(colour=(0, 0, 0)))
    swapped = rendering.render_pdf(**{**args, "photo": other})
    (tmp_path / "swapped.pdf").write_bytes(swapped)
    out = run(tmp_path / "swapped.pdf", "--keys", keyfile)
    assert out.returncode == 1 and out.stdout.startswith(verdicts.HEADLINES["photo_mismatch"])


def test_verifiers_photo_kept_by_issued_certificate_after_a_new_upload(db, world, cw, cfg, completion_rule,
                                                                       photo_province):
    completion_rule("test_ok")
    photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif()), "me.jpg", cfg.upload_dir)
    cert = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    printed = services.render_args(cert, cfg)["photo"]
    photos.save_photo(db, world.trainee, io.BytesIO(jpeg_with_exif(colour=(1, 2, 3))), "new.jpg", cfg.upload_dir)
    assert db.query(HolderPhoto).filter_by(user_id=world.trainee.id).one().fingerprint != cert.snapshot["photo_fp"]
    assert services.render_args(cert, cfg)["photo"] == printed
