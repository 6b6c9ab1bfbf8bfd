"""List pages load what each row shows in a fixed number of statements, however many rows there are."""
import pytest
from sqlalchemy import event

from tests import factories


def _count_statements(app, fn):
    engine = app.extensions["lms_db"].engine
    seen = []

    def before(conn, cursor, statement, *a):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return len(seen)


@pytest.mark.parametrize("url", ["/manage/institutions", "/manage/enterprises", "/manage/trainees", "/manage/users"])
def test_list_pages_do_not_query_per_row(app, client, db, login_as, world, url):
    login_as("sys")
    client.get(url)  # warm: session, user

    def add_rows(n0):
        for i in range(5):
            n = n0 + i
            factories.make_institution(db, world.qidong, name=f"机构{n}")
            ent = factories.make_enterprise(db, world.rugao, name=f"企业{n}有限公司")
            factories.make_trainee(db, f"t{n}", ent)
            factories.make_staff(db, f"staff{n}", factories.Role.regulator_admin, region=world.rugao)
        db.flush()

    add_rows(100)
    few = _count_statements(app, lambda: client.get(url))
    add_rows(200)
    many = _count_statements(app, lambda: client.get(url))
    assert many == few, (url, few, many)


@pytest.mark.parametrize("url", ["/api/v1/institutions", "/api/v1/trainees"])
def test_api_lists_do_not_query_per_row(app, client, db, world, url):
    from lms.auth.services import create_token

    _t, clear = create_token(db, world.sysadmin, "t")
    h = {"Authorization": f"Bearer {clear}"}
    client.get(url, headers=h)

    def add_rows(n0):
        for i in range(5):
            factories.make_institution(db, world.qidong, name=f"机构{n0 + i}")
            factories.make_trainee(db, f"t{n0 + i}", factories.make_enterprise(db, world.rugao, name=f"企业{n0 + i}有限公司"))
        db.flush()

    add_rows(100)
    few = _count_statements(app, lambda: client.get(url, headers=h))
    add_rows(200)
    many = _count_statements(app, lambda: client.get(url, headers=h))
    assert many == few, (url, few, many)
