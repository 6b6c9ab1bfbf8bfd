"""The holder's photo on certificates (issue 16), where the province enables it (``CertificateSettings.holder_photo``,
本省自定, off by default).

The trainee uploads an ID-style photo (JPEG or PNG). It is never kept as sent: decoded (size, dimensions and
pixel count checked first: no decompression bomb), turned upright by its EXIF orientation, cut to 3:4 around its
centre, scaled to ``SIZE`` and encoded again as a baseline JPEG with no metadata at all (EXIF with GPS position
and camera, ICC profile, comments: nothing of the original file survives but its pixels). The result is kept
through ``lms.uploads.store_upload`` like every other upload; its **fingerprint** is the first 8 bytes of the
SHA-256 of those stored bytes (``compact.photo_text``: ``1A2B-3C4D-5E6F-7081``). A certificate issued with the
photo records the file and the fingerprint in its snapshot, prints both, and signs the fingerprint in the QR
code (compact format 3): the PDF embeds the very same JPEG bytes, so anyone holding the PDF can check
the photo against the signed fingerprint (``python -m certificates.verify`` does).

The photo is personal data: seen by the holder and the staff of the holder's classes (``HolderPhoto``'s scope
rule), served at ``/certificates/photos/<id>`` only after that check, never on the public verify page.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from typing import BinaryIO

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certificates import compact
from certificates.models import CertificateSettings, HolderPhoto
from lms import audit, storage, uploads
from lms.auth.models import User
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.orgs.models import Region

FIELD = "photo"
MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # a phone's photo; larger is refused before it is decoded
MIN_SIDE = (240, 320)  # width, height: 30 × 40 mm printed at 200 dpi needs 236 × 315 pixels
MAX_PIXELS = 40_000_000  # 40 megapixels: beyond any phone camera, and a bound on decoding memory
SIZE = (360, 480)  # what is kept and printed (3:4, about 300 dpi at 30 × 40 mm)
JPEG_QUALITY = 90


def fingerprint(data: bytes) -> str:
    """The photo's fingerprint: the first 8 bytes of SHA-256 of the stored bytes, as printed (``1A2B-3C4D-…``)."""
    return compact.photo_text(hashlib.sha256(data).digest()[:compact.PHOTO_BYTES])


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed({FIELD: message})


def reencode(data: bytes) -> bytes:
    """The upload decoded, checked, upright, cut to 3:4, scaled to ``SIZE`` and encoded again as a JPEG with no
    metadata. Raises ValidationFailed on ``photo`` with a Chinese message saying what is wrong."""
    if not data:
        raise _refuse(_("照片文件为空，请重新选择"))
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(_("照片文件过大：不能超过 %(n)d MB", n=MAX_UPLOAD_BYTES // (1024 * 1024)))
    kind = uploads.sniff(data[:16])
    if kind is None or kind.code not in ("jpeg", "png"):
        raise _refuse(_("照片须是 JPEG 或 PNG 图片（按文件内容判断，与扩展名无关）"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in ("JPEG", "PNG"):
                    raise _refuse(_("照片须是 JPEG 或 PNG 图片（按文件内容判断，与扩展名无关）"))
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise _refuse(_("照片像素过多（%(w)d×%(h)d）：请上传不超过 4000 万像素的照片", w=w, h=h))
                img.load()
                upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise _refuse(_("照片文件已损坏或无法读取，请重新拍摄或导出后上传"))
    w, h = upright.size
    if w < MIN_SIDE[0] or h < MIN_SIDE[1]:
        raise _refuse(_("照片太小（%(w)d×%(h)d 像素）：宽至少 %(mw)d、高至少 %(mh)d 像素", w=w, h=h,
                        mw=MIN_SIDE[0], mh=MIN_SIDE[1]))
    if upright.mode not in ("RGB", "L"):
        base = Image.new("RGB", upright.size, (255, 255, 255))  # transparency (PNG) becomes white, as on paper
        rgba = upright.convert("RGBA")
        base.paste(rgba, mask=rgba.getchannel("A"))
        upright = base
    fitted = ImageOps.fit(upright.convert("RGB"), SIZE, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif=, icc_profile=: none is written
    return out.getvalue()


def photo_of(session: Session, user_id: int) -> HolderPhoto | None:
    """The person's photo for certificates, if any (no scoping: callers have loaded the person through it)."""
    return session.scalar(select(HolderPhoto).where(HolderPhoto.user_id == user_id))


def save_photo(session: Session, actor: User, stream: BinaryIO, filename: str, upload_dir: str) -> HolderPhoto:
    """The trainee's own photo for certificates: re-encoded without metadata, stored, replacing the previous one
    (certificates already issued keep theirs). Only a trainee uploads, for themselves."""
    if actor.role != Role.trainee:
        raise DomainError(_("只有学员本人可以上传证书照片"))
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    clean = reencode(data)
    stored = uploads.store_upload(session, actor, io.BytesIO(clean), "photo.jpg", allowed=("jpeg",),
                                  max_bytes=MAX_UPLOAD_BYTES, upload_dir=upload_dir, field=FIELD)
    row = photo_of(session, actor.id)
    if row is None:
        row = HolderPhoto(user_id=actor.id)
        session.add(row)
    row.stored_file_id, row.fingerprint, (row.width, row.height) = stored.id, fingerprint(clean), SIZE
    session.flush()
    audit.record(session, actor, "certificate_photo.upload", row)  # no file name, no pixels: personal data
    return row


def photo_required(session: Session, province: Region) -> bool:
    """Whether the province's certificates carry the holder's photo (``CertificateSettings.holder_photo``)."""
    return bool(session.scalar(select(CertificateSettings.holder_photo)
                               .where(CertificateSettings.province_id == province.id)))


def photo_bytes(session: Session, upload_dir: str, relative_path: str) -> bytes:
    """The stored photo's bytes (a certificate's or a person's), read from the file store (``lms.storage``: every
    host reads it, its checksums checked); FileNotFoundError when the file is missing."""
    return storage.read_bytes(session, sessionmaker(bind=session.get_bind()), upload_dir, relative_path)
