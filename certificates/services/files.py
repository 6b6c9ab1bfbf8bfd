"""Files: the printable certificate (PNG, PDF), the one download of the page and the API, and a class's ZIP."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm import object_session

from certificates import photos, rendering
from certificates.models import Certificate
from certificates.services.issuing import qr_url
from certificates.services.numbering import CertConfig
from lms.errors import NotFound


FILE_TYPES = {"png": "image/png", "pdf": "application/pdf"}


@dataclass(frozen=True)
class CertificateFile:
    """A downloadable file: its bytes, media type and the name offered to save it as."""

    data: bytes
    mimetype: str
    filename: str


def render_args(cert: Certificate, cfg: CertConfig) -> dict:
    """What the renderer prints: the snapshot, number, dates, the QR code's address (the compact signed link) and,
    where the certificate was issued with the holder's photo, the stored photo's bytes (those the fingerprint is of)."""
    args = dict(snapshot=cert.snapshot, number=cert.number, issued_on=cert.issued_on.isoformat(),
                valid_until=cert.valid_until.isoformat(), url=qr_url(cert, cfg))
    photo_file = (cert.snapshot or {}).get("photo_file")
    if photo_file:
        try:
            args["photo"] = photos.photo_bytes(object_session(cert), cfg.upload_dir, photo_file)
        except FileNotFoundError:
            raise NotFound(_("证书所印的持证人照片文件已丢失，无法生成证书文件：请系统管理员从备份恢复上传目录"))
    return args


def certificate_file(cert: Certificate, fmt: str, cfg: CertConfig) -> CertificateFile:
    """The printable certificate as PNG or PDF: the one download behind the page and the API."""
    if fmt not in FILE_TYPES:
        raise NotFound(_("格式只能是 pdf 或 png"))
    args = render_args(cert, cfg)
    data = rendering.render_png(**args) if fmt == "png" else rendering.render_pdf(**args)
    return CertificateFile(data, FILE_TYPES[fmt], f"{cert.number}.{fmt}")


def certificates_zip(certs: list[Certificate], cfg: CertConfig) -> bytes:
    """A ZIP of the certificates' PDFs (a class's download), named by certificate number."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for cert in certs:
            zf.writestr(f"{cert.number}.pdf", certificate_file(cert, "pdf", cfg).data)
    return buf.getvalue()
