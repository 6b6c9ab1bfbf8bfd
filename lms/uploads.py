"""Uploaded files, shared by the features (lesson videos and PDFs, evidence files, appointment letters).

A file's type is decided by its first bytes, never by its name or the browser's Content-Type, and its size
is counted while it is read: an oversized or disguised file is refused before anything is kept. Files
are named by their SHA-256 (lesson files) or a random name (evidence, letters) and kept through ``lms.storage``
in the backend ``FILE_STORAGE`` names (a folder under ``UPLOAD_DIR``, or the database every host shares);
``StoredFile`` records what they are.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms import storage
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import Role
from lms.errors import ValidationFailed
from lms.scoping import scope_rule

CHUNK = 1024 * 1024


class StoredFile(Base):
    """A file kept under UPLOAD_DIR: its sniffed type, size and digest, and the name it was uploaded as."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # pdf / mp4 / webm / png / jpeg / xlsx
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    relative_path: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def path(self, upload_dir: str | os.PathLike) -> Path:
        return Path(upload_dir) / self.relative_path


@scope_rule(StoredFile)
def _file_scope(user):
    # Files are reached through the record that owns them (a lesson, a claim); listing them directly is
    # for their uploader and the system admin.
    if user.role == Role.system_admin:
        return True
    return StoredFile.uploaded_by_id == user.id


@dataclass(frozen=True)
class FileKind:
    code: str
    mime: str
    label: str

    def matches(self, head: bytes) -> bool:
        if self.code == "pdf":
            return head.startswith(b"%PDF-")
        if self.code == "mp4":
            return head[4:8] == b"ftyp"
        if self.code == "webm":
            return head.startswith(b"\x1a\x45\xdf\xa3")
        if self.code == "png":
            return head.startswith(b"\x89PNG\r\n\x1a\n")
        if self.code == "jpeg":
            return head.startswith(b"\xff\xd8\xff")
        if self.code == "xlsx":
            return head.startswith(b"PK\x03\x04")
        return False


KINDS: dict[str, FileKind] = {
    k.code: k
    for k in (
        FileKind("pdf", "application/pdf", "PDF"),
        FileKind("mp4", "video/mp4", "MP4"),
        FileKind("webm", "video/webm", "WebM"),
        FileKind("png", "image/png", "PNG"),
        FileKind("jpeg", "image/jpeg", "JPEG"),
        FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel (.xlsx)"),
        FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word (.docx)"),
    )
}

# Executables and scripts, named so that the refusal says what the file really is.
_EXECUTABLE_MAGIC = (
    (b"MZ", "Windows"),
    (b"\x7fELF", "Linux"),
    (b"\xcf\xfa\xed\xfe", "macOS"),
    (b"\xfe\xed\xfa\xcf", "macOS"),
    (b"#!", "script"),
)


def sniff(head: bytes) -> FileKind | None:
    """The kind of file these first bytes start, or None."""
    for kind in KINDS.values():
        if kind.matches(head):
            return kind
    return None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def check_declared_size(declared: int | None, max_bytes: int, field: str = "file") -> None:
    """Refuse at once when the client announces a body larger than the limit (nothing is read)."""
    if declared is not None and declared > max_bytes:
        raise ValidationFailed({field: _("文件过大：不能超过 %(limit)s", limit=_mb(max_bytes))})


def store_upload(
    session: Session,
    user,
    stream: BinaryIO,
    filename: str,
    *,
    allowed: tuple[str, ...],
    max_bytes: int,
    upload_dir: str | os.PathLike,
    field: str = "file",
) -> StoredFile:
    """Keep ``stream`` in the file store (``lms.storage``) if its content is one of ``allowed`` kinds and it is at most
    ``max_bytes``; raise ValidationFailed on ``field`` otherwise, leaving nothing behind.

    The bytes go to a temporary file first and are counted as they arrive, so a 100 MB body sent to a
    20 MB limit stops at 20 MB + 1 byte; the type is taken from the first bytes, so a ``.pdf`` that is
    really an executable is refused whatever its name says."""
    tmp_root = Path(upload_dir) / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=tmp_root) as spool:
        size, head, sha = _spool(stream, spool, max_bytes, field)
        kind = _check_kind(head, size, allowed, field)
        relative = f"{sha[:2]}/{sha}.{kind.code}"
        if not storage.exists(session, upload_dir, relative):
            spool.seek(0)
            storage.put(session, storage.configured_backend(), upload_dir, relative, spool)
    stored = StoredFile(
        sha256=sha, kind=kind.code, mime=kind.mime, size=size, original_name=(filename or "")[:255],
        relative_path=relative, uploaded_by_id=getattr(user, "id", None),
    )
    session.add(stored)
    session.flush()
    return stored


def _spool(stream: BinaryIO, out: BinaryIO, max_bytes: int, field: str) -> tuple[int, bytes, str]:
    """Copy ``stream`` to ``out``, counting: (size, first 16 bytes, SHA-256); refuses past ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if len(head) < 16:
            head += chunk[: 16 - len(head)]
        size += len(chunk)
        if size > max_bytes:
            raise ValidationFailed({field: _("文件过大：不能超过 %(limit)s", limit=_mb(max_bytes))})
        digest.update(chunk)
        out.write(chunk)
    return size, head, digest.hexdigest()


def _check_kind(head: bytes, size: int, allowed: tuple[str, ...], field: str) -> FileKind:
    """The kind of a non-empty file from its first bytes, if allowed; executables are named in the refusal."""
    if size == 0:
        raise ValidationFailed({field: _("文件为空，请重新选择")})
    allowed_labels = "、".join(KINDS[k].label for k in allowed)
    for magic, system in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            raise ValidationFailed({field: _(
                "文件内容是可执行程序（%(system)s），不是允许的类型（%(allowed)s），已拒绝",
                system=system, allowed=allowed_labels)})
    kind = sniff(head)
    if kind is None or kind.code not in allowed:
        raise ValidationFailed({field: _(
            "文件内容不是允许的类型（%(allowed)s），与文件扩展名无关", allowed=allowed_labels)})
    return kind


# ------------------------------------------------------------------ evidence and letters
# Files that belong to one record (a credit claim's evidence, an appointment letter) and are kept by path
# on that record: the same content checks, without a StoredFile row.
MAX_BYTES = 10 * 1024 * 1024
DOCUMENTS_AND_IMAGES = ("pdf", "docx", "png", "jpeg")


def sniff_bytes(data: bytes) -> FileKind | None:
    """Like ``sniff``, and tells Office files apart by what their zip holds (both start 'PK')."""
    kind = sniff(data[:16])
    if kind is not None and kind.code in ("xlsx", "docx"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            return None
        if "word/document.xml" in names:
            return KINDS["docx"]
        if "xl/workbook.xml" in names:
            return KINDS["xlsx"]
        return None
    return kind


@dataclass
class Stored:
    path: str  # relative to UPLOAD_DIR
    original_name: str
    mime: str
    size: int


def store(session: Session, upload_dir: str, subdir: str, data: bytes, original_name: str, *, field: str,
          allowed: tuple[str, ...] = DOCUMENTS_AND_IMAGES, max_bytes: int = MAX_BYTES) -> Stored:
    """Check one upload by size and content and store it under a random name; raise
    ValidationFailed({field: message}) when it is refused (nothing is written then)."""
    if not data:
        raise ValidationFailed({field: _("请上传文件")})
    if len(data) > max_bytes:
        raise ValidationFailed({field: _("文件过大：不能超过 %(limit)s", limit=_mb(max_bytes))})
    kind = sniff_bytes(data)
    if kind is None or kind.code not in allowed:
        raise ValidationFailed({field: _("文件内容不是允许的类型（PDF、Word 文档或 PNG/JPEG 图片）")})
    ext = "jpg" if kind.code == "jpeg" else kind.code
    rel = f"{subdir}/{secrets.token_hex(16)}.{ext}"
    storage.put(session, storage.configured_backend(), upload_dir, rel, io.BytesIO(data))
    name = Path(original_name or "").name[:128] or f"file.{ext}"
    return Stored(path=rel, original_name=name, mime=kind.mime, size=len(data))
