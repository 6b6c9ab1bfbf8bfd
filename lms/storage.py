"""Where the bytes of stored files live (issue 21): lesson videos and PDFs, credit evidence, appointment letters.

Every file is named by a key (its path relative to ``UPLOAD_DIR``, as the records that own files already keep it)
and has a ``storage_objects`` row: its size, its SHA-256 and the SHA-256 of each 1 MiB piece, and the backend
that holds it. Two backends:

- ``local`` (the default, as before): a file under ``UPLOAD_DIR``. One host only, or a shared disk.
- ``database``: the pieces as rows of ``storage_chunks`` in the application's own database, which every app host
  already shares (docs/storage.md argues PostgreSQL over an S3-compatible store for this platform).

``FILE_STORAGE`` says where new files go; a file is read from the backend its row names, so files stay readable
while ``flask files move`` copies the existing ones across. Reads are verified piece by piece against the kept
digests, so a range request for the middle of a video checks only the pieces it sends; a mismatch raises
``ChecksumMismatch`` rather than serving damaged bytes. A file written before this module (no row) is read from
the local folder unverified until ``flask files move`` (or ``flask files move --to local``) records it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from flask import current_app, has_app_context
from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.db import Base, UTCDateTime, utcnow

log = logging.getLogger("lms.storage")
PIECE = 1024 * 1024
BACKENDS = ("local", "database")


class StoredObject(Base):
    """One stored file's bytes: where they are, their size and their digests (the whole and each piece)."""

    __tablename__ = "storage_objects"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    backend: Mapped[str] = mapped_column(String(16))  # local / database
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    piece_sha256: Mapped[str] = mapped_column(Text)  # 64 hex digits per PIECE-sized piece, in order
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def piece_digest(self, seq: int) -> str:
        return self.piece_sha256[seq * 64:(seq + 1) * 64]


class StoredChunk(Base):
    """One PIECE of a file kept in the database backend."""

    __tablename__ = "storage_chunks"

    key: Mapped[str] = mapped_column(ForeignKey("storage_objects.key", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ChecksumMismatch(OSError):
    """A stored file's bytes no longer match the digest kept when it was written."""


class StorageMisconfigured(RuntimeError):
    """``FILE_STORAGE`` names no backend."""


def check_backend(name: str) -> str:
    """``name`` if it is a backend; StorageMisconfigured otherwise (the app checks FILE_STORAGE at start)."""
    if name not in BACKENDS:
        raise StorageMisconfigured(f"FILE_STORAGE={name!r}: use one of {', '.join(BACKENDS)}")
    return name


def _local_path(upload_dir: str | os.PathLike, key: str) -> Path:
    """The file of ``key`` under UPLOAD_DIR; refuses a key that escapes it."""
    base = Path(upload_dir).resolve()
    p = (base / key).resolve()
    if base not in p.parents:
        raise FileNotFoundError(key)
    return p


# ------------------------------------------------------------------ writing
def configured_backend() -> str:
    """Where new files go: the app's FILE_STORAGE; outside an application (a script, a unit test calling a
    service directly) the folder it was given, as before this module."""
    return check_backend(current_app.config["FILE_STORAGE"]) if has_app_context() else "local"


def put(session: Session, backend: str, upload_dir: str | os.PathLike, key: str, stream: BinaryIO) -> StoredObject:
    """Store ``stream`` under ``key`` in ``backend`` with its digests (flushes; the caller commits). Writing the
    same key again replaces it (keys are content digests or random names, so that is the same file)."""
    check_backend(backend)
    whole, pieces, size = hashlib.sha256(), [], 0
    old = session.get(StoredObject, key)
    if old is not None:
        session.execute(delete(StoredChunk).where(StoredChunk.key == key))
        session.delete(old)
        session.flush()
    obj = StoredObject(key=key, backend=backend, size=0, sha256="", piece_sha256="")
    session.add(obj)
    session.flush()
    if backend == "database":
        for seq, piece in enumerate(_pieces(stream)):
            whole.update(piece)
            pieces.append(hashlib.sha256(piece).hexdigest())
            size += len(piece)
            session.add(StoredChunk(key=key, seq=seq, data=piece))
            session.flush()  # one piece in memory at a time
    else:
        target = _local_path(upload_dir, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                for piece in _pieces(stream):
                    whole.update(piece)
                    pieces.append(hashlib.sha256(piece).hexdigest())
                    size += len(piece)
                    out.write(piece)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    obj.size, obj.sha256, obj.piece_sha256 = size, whole.hexdigest(), "".join(pieces)
    session.flush()
    return obj


def _pieces(stream: BinaryIO) -> Iterator[bytes]:
    """``stream`` in PIECE-sized pieces (the last may be shorter)."""
    buf = b""
    while True:
        chunk = stream.read(PIECE - len(buf))
        if not chunk:
            break
        buf += chunk
        if len(buf) == PIECE:
            yield buf
            buf = b""
    if buf:
        yield buf


# ------------------------------------------------------------------ reading
class ObjectReader(io.RawIOBase):
    """A seekable, read-only view of a stored file that fetches one piece at a time and checks its digest
    before handing out any of its bytes. It holds no open file or database connection between reads (a
    response streaming it leaks nothing if it is never closed)."""

    def __init__(self, key: str, size: int, fetch: Callable[[int], bytes], digest: Callable[[int], str | None]):
        super().__init__()
        self.key, self.size, self._fetch, self._digest = key, size, fetch, digest
        self._pos, self._seq, self._piece = 0, -1, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        """Fill ``buffer`` from as many pieces as it spans (a short count only at the end of the file)."""
        view, filled = memoryview(buffer).cast("B"), 0
        while filled < len(view) and self._pos < self.size:
            seq, offset = divmod(self._pos, PIECE)
            if seq != self._seq:
                self._load(seq)
            n = min(len(view) - filled, len(self._piece) - offset)
            if n <= 0:
                raise ChecksumMismatch(f"{self.key}: shorter than its recorded size")
            view[filled:filled + n] = self._piece[offset:offset + n]
            filled += n
            self._pos += n
        return filled

    def readall(self) -> bytes:
        """The rest of the file, a piece at a time (RawIOBase's default reads 8 KiB a call)."""
        out = bytearray()
        while chunk := self.read(PIECE):
            out += chunk
        return bytes(out)

    def _load(self, seq: int) -> None:
        piece = self._fetch(seq)
        expected = self._digest(seq)
        if expected is not None and hashlib.sha256(piece).hexdigest() != expected:
            log.error("stored file %s: piece %d does not match its checksum", self.key, seq)
            raise ChecksumMismatch(f"{self.key}: piece {seq} does not match its checksum")
        self._seq, self._piece = seq, piece


def open_object(session: Session, session_factory, upload_dir: str | os.PathLike, key: str) -> ObjectReader:
    """A reader of ``key``; FileNotFoundError if there is no such file. ``session`` looks the row up now;
    ``session_factory`` gives the database backend a short session per piece, later, while a response streams."""
    obj = session.get(StoredObject, key)
    if obj is None:  # written before the storage rows: local and unverified until `flask files move --to local`
        path = _local_path(upload_dir, key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return ObjectReader(key, path.stat().st_size, _local_fetch(path), lambda _seq: None)
    digests = obj.piece_sha256
    if obj.backend == "database":
        return ObjectReader(key, obj.size, _database_fetch(session_factory, key),
                            lambda seq: digests[seq * 64:(seq + 1) * 64])
    path = _local_path(upload_dir, key)
    if not path.is_file():
        raise FileNotFoundError(key)
    return ObjectReader(key, obj.size, _local_fetch(path), lambda seq: digests[seq * 64:(seq + 1) * 64])


def _local_fetch(path: Path) -> Callable[[int], bytes]:
    def fetch(seq: int) -> bytes:
        with open(path, "rb") as fh:
            fh.seek(seq * PIECE)
            return fh.read(PIECE)

    return fetch


def _database_fetch(session_factory, key: str) -> Callable[[int], bytes]:
    def fetch(seq: int) -> bytes:
        with session_factory() as s:
            data = s.scalar(select(StoredChunk.data).where(StoredChunk.key == key, StoredChunk.seq == seq))
        if data is None:
            raise ChecksumMismatch(f"{key}: piece {seq} is missing")
        return bytes(data)

    return fetch


def read_bytes(session: Session, session_factory, upload_dir: str | os.PathLike, key: str) -> bytes:
    """The whole of a (small) stored file, every piece checked."""
    reader = open_object(session, session_factory, upload_dir, key)
    return reader.read()


def exists(session: Session, upload_dir: str | os.PathLike, key: str) -> bool:
    """Whether ``key`` has a row, or (written before the rows) a local file."""
    if session.get(StoredObject, key) is not None:
        return True
    try:
        return _local_path(upload_dir, key).is_file()
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------ moving
def local_keys(upload_dir: str | os.PathLike) -> list[str]:
    """Every file under UPLOAD_DIR (but the spool ``tmp/`` and half-written ``.part-`` files), as keys."""
    root = Path(upload_dir)
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith("tmp/") and not p.name.startswith(".part-"):
            out.append(rel)
    return out


def move(session_factory, upload_dir: str | os.PathLike, target: str, *, say: Callable[[str], None]) -> dict:
    """Copy every stored file into ``target`` (and record the local ones that had no row), one file per
    transaction, each read back and checked before its row points at the new place. Files already there are
    left alone, so the command can be run again after an interruption. Local files are left on disk: remove
    them once the site runs on the new backend (docs/storage.md)."""
    check_backend(target)
    counts = {"moved": 0, "already": 0, "failed": 0}
    with session_factory() as s:
        keys = set(local_keys(upload_dir)) | set(s.scalars(select(StoredObject.key)))
    for key in sorted(keys):
        with session_factory() as s:
            obj = s.get(StoredObject, key)
            if obj is not None and obj.backend == target:
                counts["already"] += 1
                continue
            try:
                data = read_bytes(s, session_factory, upload_dir, key)
                new = put(s, target, upload_dir, key, io.BytesIO(data))
                if obj is not None and new.sha256 != obj.sha256:
                    raise ChecksumMismatch(f"{key}: copied bytes differ")
                if read_bytes(s, session_factory, upload_dir, key) != data:
                    raise ChecksumMismatch(f"{key}: read back differs")
                s.commit()
            except OSError as exc:
                s.rollback()
                counts["failed"] += 1
                say(f"FAILED {key}: {exc}")
                continue
            counts["moved"] += 1
            say(f"moved {key} ({new.size} bytes) to {target}")
    return counts


def verify(session_factory, upload_dir: str | os.PathLike) -> list[str]:
    """Read every recorded file through its checks; the keys that fail, with why."""
    problems = []
    with session_factory() as s:
        keys = list(s.scalars(select(StoredObject.key).order_by(StoredObject.key)))
    for key in keys:
        with session_factory() as s:
            try:
                reader = open_object(s, session_factory, upload_dir, key)
                while reader.read(PIECE):
                    pass
            except OSError as exc:
                problems.append(str(exc) if key in str(exc) else f"{key}: {exc}")
    return problems
