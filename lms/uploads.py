"""Uploaded files: size limit, content sniffing (never trust the name or the browser's type), storage under
``app.config["UPLOAD_DIR"]`` with a random name. Services get the bytes and a name; views pass them in."""
from __future__ import annotations

import io
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _

from lms.errors import ValidationFailed

MAX_BYTES = 10 * 1024 * 1024

# kind -> extension; what "a document or an image" means here
DOCUMENT_KINDS = {"pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
IMAGE_KINDS = {"png": "image/png", "jpeg": "image/jpeg"}


def sniff(data: bytes) -> str | None:
    """The file's real kind by its content: 'pdf', 'png', 'jpeg', 'docx', or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            return None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return "docx"
    return None


@dataclass
class Stored:
    path: str  # relative to UPLOAD_DIR
    original_name: str
    mime: str
    size: int


def store(upload_dir: str, subdir: str, data: bytes, original_name: str, *, field: str,
          allowed: dict[str, str] | None = None, max_bytes: int = MAX_BYTES) -> Stored:
    """Check and store one upload; raise ValidationFailed({field: message}) when it is refused."""
    allowed = allowed or {**DOCUMENT_KINDS, **IMAGE_KINDS}
    if not data:
        raise ValidationFailed({field: _("请上传文件")})
    if len(data) > max_bytes:
        raise ValidationFailed({field: _("文件不能超过 %(mb)d MB", mb=max_bytes // (1024 * 1024))})
    kind = sniff(data)
    if kind not in allowed:
        raise ValidationFailed({field: _("文件内容不是允许的类型（PDF、Word 文档或 PNG/JPEG 图片）")})
    ext = "jpg" if kind == "jpeg" else kind
    rel = f"{subdir}/{secrets.token_hex(16)}.{ext}"
    target = Path(upload_dir) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    name = Path(original_name or "").name[:128] or f"file.{ext}"
    return Stored(path=rel, original_name=name, mime=allowed[kind], size=len(data))


def open_path(upload_dir: str, rel: str) -> Path:
    """The absolute path of a stored file; refuses anything that escapes UPLOAD_DIR."""
    base = Path(upload_dir).resolve()
    p = (base / rel).resolve()
    if base not in p.parents:
        raise FileNotFoundError(rel)
    return p
