"""Backups: a consistent copy of the live database and the uploaded files in one .tar.gz, and restore.

SQLite is copied with its online backup API (consistent while the app keeps writing); PostgreSQL with
pg_dump/pg_restore. The archive holds a manifest with the schema revision and every table's row count, which
restore checks after loading, so a backup that does not restore completely fails loudly.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Engine, make_url

from lms.db import make_engine

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    pass


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database).resolve()


def row_counts(engine: Engine) -> dict[str, int]:
    """Every table's row count: what a backup holds and a restore must bring back."""
    names = sorted(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {n: conn.execute(select(func.count()).select_from(table(n))).scalar_one() for n in names}


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            return None


def _pg_env(url) -> tuple[list[str], dict]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres", "-d", url.database]
    return args, env


def backup(engine: Engine, url: str, upload_dir: str, out_dir: str, now: dt.datetime | None = None,
           extra: dict | None = None) -> Path:
    """Write ``cqo-backup-<UTC time>.tar.gz`` into ``out_dir`` and return its path. ``extra`` goes into the
    manifest (the keys' fingerprints: lms.restorecheck)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = out / f"cqo-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz"
    # Personal data (encrypted fields, uploaded letters, photos): the archive is the owner's alone, from birth.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(target, 0o600)
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            db_file = tmpdir / "database.sqlite3"
            src = sqlite3.connect(str(_sqlite_path(url)))
            dst = sqlite3.connect(str(db_file))
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
            kind = "sqlite"
            counts = row_counts(_sqlite_engine(db_file))  # counted on the copy: what the archive holds
        elif u.get_backend_name() == "postgresql":
            db_file = tmpdir / "database.pgdump"
            args, env = _pg_env(u)
            # A single pg_dump runs in one repeatable-read snapshot: consistent while the app writes.
            proc = subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(db_file), *args], env=env,
                                  capture_output=True, text=True)
            if proc.returncode:
                raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")
            kind = "postgresql"
            counts = row_counts(engine)
        else:
            raise BackupError(f"unsupported database: {u.get_backend_name()}")
        manifest = {
            "created_at": now.isoformat(),
            "database": kind,
            "revision": _revision(engine),
            "row_counts": counts,
            "uploads": sum(1 for p in Path(upload_dir).rglob("*") if p.is_file()) if Path(upload_dir).exists() else 0,
            **(extra or {}),
        }
        with tarfile.open(target, "w:gz") as tar:
            tar.add(db_file, arcname=db_file.name)
            if Path(upload_dir).exists():
                tar.add(upload_dir, arcname="uploads")
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


def _sqlite_engine(path: Path) -> Engine:
    return make_engine(f"sqlite:///{path}")


def read_manifest(archive: Path) -> dict:
    """The manifest of a backup archive, or BackupError when the file is not one."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return json.loads(member.read())
    except (KeyError, tarfile.TarError, OSError, ValueError) as exc:
        raise BackupError(f"not a backup archive made by `flask backup`: {exc}") from exc


def restore(engine: Engine, url: str, upload_dir: str, archive: str) -> dict:
    """Replace the database and the uploads with the archive's, then check every table's row count."""
    archive_path = Path(archive)
    manifest = read_manifest(archive_path)
    u = make_url(url)
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        with tarfile.open(archive_path, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmpdir, filter="data")
            else:  # Debian 12's Python 3.11.2 predates extraction filters: refuse what "data" would refuse
                for m in tar.getmembers():
                    if m.name.startswith("/") or ".." in Path(m.name).parts or not (m.isfile() or m.isdir()):
                        raise BackupError(f"unsafe member in the archive: {m.name}")
                tar.extractall(tmpdir)
        engine.dispose()
        if manifest["database"] == "sqlite":
            if u.get_backend_name() != "sqlite":
                raise BackupError("this backup is of a SQLite database; DATABASE_URL is not SQLite")
            dest = _sqlite_path(url)
            staged = dest.with_suffix(".restoring")
            src = sqlite3.connect(str(tmpdir / "database.sqlite3"))
            dst = sqlite3.connect(str(staged))
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
            for suffix in ("-wal", "-shm"):
                Path(str(dest) + suffix).unlink(missing_ok=True)
            os.replace(staged, dest)
        else:
            if u.get_backend_name() != "postgresql":
                raise BackupError("this backup is of a PostgreSQL database; DATABASE_URL is not PostgreSQL")
            args, env = _pg_env(u)
            proc = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                                   *args, str(tmpdir / "database.pgdump")], env=env, capture_output=True, text=True)
            if proc.returncode:
                raise BackupError(f"pg_restore failed: {proc.stderr.strip()}")
        if (tmpdir / "uploads").exists():
            up = Path(upload_dir)
            if up.exists():
                shutil.rmtree(up)
            shutil.copytree(tmpdir / "uploads", up)
    counts = row_counts(engine)
    expected = manifest["row_counts"]
    wrong = {t: (n, counts.get(t)) for t, n in expected.items() if counts.get(t) != n}
    if wrong:
        raise BackupError(f"restored row counts differ from the backup's: {wrong}")
    return manifest
