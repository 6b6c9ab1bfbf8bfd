"""Issue 14, the validity point: migration 0014c lets a programme set no validity and a certificate have no end
date; its downgrade refuses, before changing anything and with a message, while any such row exists."""
import pytest
from alembic import command
from sqlalchemy import text

from lms.db import make_engine
from tests import golive_util
from tests.unit.test_golive_migrations import _revision, _run

REV = "0014c"


def _sql(url: str, *statements: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_policy_validity_migration_downgrade_refuses_rows_without_validity(database_url, tmp_dir):
    url = golive_util.fresh_url(database_url, "policy_validity_migr", tmp_dir)
    _run(url, command.upgrade, REV)
    _sql(url, "INSERT INTO regions (id, code, name, level, path) VALUES (900, '900000', '测试省', 'province', '900000')",
         "INSERT INTO programmes (province_id, tier, year, name, total_hours, pass_mark, min_attendance_rate, "
         "requires_lower_tier, created_at) VALUES (900, 'basic', 2026, '无有效期的方案', 40, 60, 0.8, true, CURRENT_TIMESTAMP)")
    with pytest.raises(RuntimeError, match=r"1 programme\(s\) set no certificate validity.*restore the backup"):
        _run(url, command.downgrade, "-1")
    assert _revision(url) == REV  # refused before changing anything
    _sql(url, "UPDATE programmes SET certificate_validity_years = 3")
    _run(url, command.downgrade, "-1")  # every row has a validity: the previous schema holds it
    assert _revision(url) != REV
    _run(url, command.upgrade, REV)
