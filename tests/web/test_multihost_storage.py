"""Issue 21: the file store every host reads (lms/storage.py), the `flask files` commands, and the app refusing
per-process state when it is told it runs on several hosts."""
from __future__ import annotations

import hashlib
import io
import os
import shutil

import pytest
from sqlalchemy import select, update

from courses.models import Lesson
from lms import multihost, storage
from lms.uploads import StoredFile
from tests import courses_support as cs
from tests.conftest import make_app, post_form

VIDEO = b"\x00\x00\x00\x18ftypmp42" + os.urandom(storage.PIECE * 2 + 12345)  # three pieces, the last short


@pytest.fixture
def backend(app, request):
    """Run the test with FILE_STORAGE set to the parameter, and an upload folder of its own."""
    saved = app.config["FILE_STORAGE"], app.config["UPLOAD_DIR"]
    app.config["FILE_STORAGE"] = request.param
    yield request.param
    app.config["FILE_STORAGE"], app.config["UPLOAD_DIR"] = saved


def _factory(app):
    return app.extensions["lms_db"].sessionmaker


@pytest.mark.parametrize("backend", ["local", "database"], indirect=True)
def test_multihost_storage_round_trip_with_ranges_and_checksums(app, db, backend, tmp_path):
    obj = storage.put(db, backend, tmp_path, "t/video.mp4", io.BytesIO(VIDEO))
    assert (obj.size, obj.sha256) == (len(VIDEO), hashlib.sha256(VIDEO).hexdigest())
    assert len(obj.piece_sha256) == 3 * 64 and obj.backend == backend
    assert (tmp_path / "t" / "video.mp4").exists() == (backend == "local")
    reader = storage.open_object(db, _factory(app), tmp_path, "t/video.mp4")
    assert reader.read() == VIDEO
    start = storage.PIECE * 2 - 10  # a range across the second and third pieces
    reader.seek(start)
    assert reader.read(30) == VIDEO[start:start + 30]
    with pytest.raises(FileNotFoundError):
        storage.open_object(db, _factory(app), tmp_path, "t/none.mp4")
    with pytest.raises(FileNotFoundError):
        storage.open_object(db, _factory(app), tmp_path, "../escape.mp4")


@pytest.mark.parametrize("backend", ["local", "database"], indirect=True)
def test_multihost_storage_a_damaged_piece_is_refused_not_served(app, db, backend, tmp_path):
    storage.put(db, backend, tmp_path, "t/doc.pdf", io.BytesIO(VIDEO))
    if backend == "database":
        db.execute(update(storage.StoredChunk).where(storage.StoredChunk.key == "t/doc.pdf", storage.StoredChunk.seq == 1)
                   .values(data=b"x" * storage.PIECE))
    else:
        with open(tmp_path / "t" / "doc.pdf", "r+b") as fh:
            # Flip the byte's bits: writing a fixed byte left the file intact whenever the random byte there
            # already was that byte (1 run in 256; CI met it once).
            fh.seek(storage.PIECE + 5)
            damaged = bytes([fh.read(1)[0] ^ 0xFF])
            fh.seek(storage.PIECE + 5)
            fh.write(damaged)
    reader = storage.open_object(db, _factory(app), tmp_path, "t/doc.pdf")
    assert reader.read(100) == VIDEO[:100]  # the first piece is intact
    reader.seek(storage.PIECE)
    with pytest.raises(storage.ChecksumMismatch):
        reader.read(10)
    assert storage.verify(_factory(app), tmp_path) == ["t/doc.pdf: piece 1 does not match its checksum"]


@pytest.mark.parametrize("backend", ["database"], indirect=True)
def test_multihost_lesson_video_streams_from_the_database_with_range(client, db, login_as, world, app, backend, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "not-shared")
    course = cs.course(db, world, lessons=1, owner_institution=world.inst_nt)
    login_as("nt_staff")
    resp = post_form(client, f"/courses/catalogue/{course.id}/lessons/new",
                     {"title": "视频课", "kind": "video", "minutes": "10", "file": (io.BytesIO(VIDEO), "课.mp4")},
                     content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    les = db.scalar(select(Lesson).where(Lesson.course_id == course.id, Lesson.title == "视频课"))
    assert db.get(storage.StoredObject, les.file.relative_path).backend == "database"
    shutil.rmtree(tmp_path / "not-shared", ignore_errors=True)  # another host: nothing on its disk
    cs.switch_user(client, "wangfang")
    start = storage.PIECE - 50
    part = client.get(f"/courses/lessons/{les.id}/file", headers={"Range": f"bytes={start}-{start + 99}"})
    assert part.status_code == 206 and part.data == VIDEO[start:start + 100]
    assert part.headers["Content-Range"] == f"bytes {start}-{start + 99}/{len(VIDEO)}"
    whole = client.get(f"/courses/lessons/{les.id}/file")
    assert whole.status_code == 200 and whole.data == VIDEO and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["ETag"] == f'"{les.file.sha256}"' and "filename*=UTF-8''%E8%AF%BE.mp4" in whole.headers["Content-Disposition"]
    again = client.get(f"/courses/lessons/{les.id}/file", headers={"If-None-Match": f'"{les.file.sha256}"'})
    assert again.status_code == 304


@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_multihost_files_move_copies_every_file_into_the_database(app, db, backend, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    recorded = storage.put(db, "local", tmp_path, "credits/a.pdf", io.BytesIO(b"%PDF-1.4 evidence"))
    legacy = tmp_path / "ab" / "legacy.pdf"  # written before the storage rows existed
    legacy.parent.mkdir()
    legacy.write_bytes(b"%PDF-1.4 old lesson")
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "spool").write_bytes(b"half an upload")
    db.add(StoredFile(sha256="0" * 64, kind="pdf", mime="application/pdf", size=19, relative_path="ab/legacy.pdf"))
    db.flush()
    result = app.test_cli_runner().invoke(args=["files", "move", "--to", "database"])
    assert result.exit_code == 0, result.output
    assert "2 moved, 0 already in database, 0 failed" in result.output
    assert "set FILE_STORAGE=database" in result.output
    shutil.rmtree(tmp_path)  # the files now live in the database alone
    assert storage.read_bytes(db, _factory(app), tmp_path, "ab/legacy.pdf") == b"%PDF-1.4 old lesson"
    assert db.get(storage.StoredObject, "credits/a.pdf").sha256 == recorded.sha256
    assert db.get(storage.StoredObject, "tmp/spool") is None
    again = app.test_cli_runner().invoke(args=["files", "move", "--to", "database"])
    assert "0 moved, 2 already in database" in again.output
    ok = app.test_cli_runner().invoke(args=["files", "verify"])
    assert ok.exit_code == 0 and "0 problem(s)" in ok.output


def test_multihost_the_app_refuses_per_process_state_on_several_hosts(database_url, tmp_dir):
    with pytest.raises(multihost.NotMultiHostReady) as refused:
        make_app(database_url, tmp_dir, APP_HOSTS=2, RATELIMIT_STORAGE_URI="memory://", FILE_STORAGE="local")
    message = str(refused.value)
    assert "RATELIMIT_STORAGE_URI=redis://" in message and "FILE_STORAGE=database" in message
    with pytest.raises(multihost.NotMultiHostReady, match="RATELIMIT_STORAGE_URI"):
        make_app(database_url, tmp_dir, APP_HOSTS=2, RATELIMIT_STORAGE_URI="lms-memory://", FILE_STORAGE="database")
    # shared limits and files: nothing to refuse (an app is not built here: Flask-Limiter's storage is process-wide,
    # and a Redis nobody runs would then serve every later test)
    assert multihost.problems({"APP_HOSTS": 2, "RATELIMIT_STORAGE_URI": "redis://10.0.0.5:6379/0",
                               "FILE_STORAGE": "database"}) == []
    with pytest.raises(storage.StorageMisconfigured, match="FILE_STORAGE='s3'"):
        make_app(database_url, tmp_dir, FILE_STORAGE="s3")
    single = make_app(database_url, tmp_dir, APP_HOSTS=1, FILE_STORAGE="local")  # one host: as before
    assert single.config["RATELIMIT_STORAGE_URI"].startswith(multihost.MEMORY_SCHEMES)
