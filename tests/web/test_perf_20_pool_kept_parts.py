"""Issue 20, the pool search's Python (fourth round): the pool page's filter form and rows' markup are kept per
language and region options (``talent.pool_page``), the user's region comes with the session's user, and the
page's ``_()`` calls do not each ask Flask-Babel for the locale. Counted (Python calls, statements, renders),
never timed; each check fails if its change is undone. The form's behaviour is checked beside: the chosen
options, escaping, another language, another bureau's regions, a renamed or added region at once."""
from lms import templating
from lms.orgs import services as org_services
from talent import queries as talent_queries
from tests.conftest import login
from tests.web.test_perf_20p_pool_page import profiled_get
from tests.web.test_talent_pool_search import _pool

URL = "/talent/pool?status=active&tier=basic&stars=3&q=%E6%9D%8E&enterprise=%3Cb%3E%22"


def _regions(db, world, n):
    for i in range(n):
        org_services.ensure_region(db, f"3206{50 + i:02d}", f"测试区{i:02d}", world.nantong, f"测试区{i:02d}市场监督管理局")
    db.flush()


def test_perf_20_pool_rows_cost_a_few_calls_each(app, client, db, world, monkeypatch):
    """A row is its values escaped into kept markup: ~15 calls, where the template's loop took ~60 a row."""
    _pool(db, world)
    login(client, "js_admin")
    sizes = {}
    for size in (1, 20, 1, 20):  # each size once to warm (statements compiled, menu and markup kept), then counted
        monkeypatch.setattr(talent_queries, "POOL_PAGE_SIZE", size)
        sizes[size] = profiled_get(app, client, "/talent/pool")
    (small, _s, html_small), (large, _s, html_large) = sizes[1], sizes[20]
    rows = html_large.count('href="/talent/entries/')
    assert html_small.count('href="/talent/entries/') == 1 and rows == 6
    # (the one-page list's pager is cheaper than six pages' links, so the difference is less than the rows' cost;
    # the template's loop made it ~70 calls a row)
    assert (large - small) / (rows - 1) < 30, (small, large)
    # the rows as the template writes them: the entry's link, status badge and label, stars, no ID number
    assert '<span class="badge status-active bg-success">在库</span>' in html_large
    assert html_large.count("<tr>") == rows + 1 and "320" not in html_large.split('id="pool-table"')[1].split("</table>")[0]


def test_perf_20_pool_form_options_cost_nothing_each(app, client, db, world):
    """The region options are kept with the form: 30 more regions in the bureau's scope cost a few calls, not a
    Jinja loop's ~10 each; a renamed or added region shows on the next page (the region rows are the key)."""
    _pool(db, world)
    login(client, "js_admin")
    client.get(URL)
    before, _s, html = profiled_get(app, client, URL)
    _regions(db, world, 30)
    client.get(URL)  # the new regions: a new form, rendered once
    after, _s, html_more = profiled_get(app, client, URL)
    assert html_more.count('<option value="') == html.count('<option value="') + 30
    assert '>测试区29</option>' in html_more and '>测试区29</option>' not in html
    assert after - before < 6 * 30, (before, after)
    world.qidong.name = "启东市（改）"
    db.flush()
    assert ">启东市（改）</option>" in client.get(URL).get_data(as_text=True)


def test_perf_20_pool_form_keeps_choices_escaping_language_and_scope(app, client, db, world):
    _pool(db, world)
    login(client, "js_admin")
    url = URL + "&region=%d" % world.rugao.id
    html = client.get(url).get_data(as_text=True)
    for chosen in ('<option value="active" selected>在库</option>', '<option value="basic" selected>基础</option>',
                   '<option value="%d" selected>如皋市</option>' % world.rugao.id, '<option value="3" selected>★★★</option>'):
        assert chosen in html
    assert html.count(" selected>") == 4
    assert 'name="q" value="李"' in html and 'name="enterprise" value="&lt;b&gt;&#34;"' in html
    assert "<b>\"" not in html
    html = client.get("/talent/pool").get_data(as_text=True)  # the same kept form, nothing chosen
    assert " selected>" not in html and 'name="q" value=""' in html
    client.set_cookie("lang", "en")
    en = client.get(url).get_data(as_text=True)
    assert '<option value="active" selected>Active</option>' in en and "全部状态" not in en
    client.delete_cookie("lang")
    county = app.test_client()
    login(county, "rg_admin")  # a county bureau: its own region only, never the province's
    html = county.get("/talent/pool").get_data(as_text=True)
    assert ">如皋市</option>" in html and ">启东市</option>" not in html and ">南通市</option>" not in html


def test_perf_20_pool_user_region_with_the_user_and_one_locale_lookup(app, client, db, world, monkeypatch):
    """The session's user comes with its region (the scope reads it: no statement of its own), and the page's
    ~30 ``_()`` ask Flask-Babel for the locale once, not each."""
    _pool(db, world)
    login(client, "js_admin")
    client.get(URL)
    looked_up = []
    real = templating.get_locale
    monkeypatch.setattr(templating, "get_locale", lambda: looked_up.append(1) or real())
    _calls, statements, html = profiled_get(app, client, URL)
    assert "首席质量官人才库" in html
    assert len(looked_up) <= 4, len(looked_up)  # the translations once, the menu's key, the template context
    by_id = [s for s in statements if s.startswith("SELECT regions.") and "WHERE regions.id =" in s]
    assert by_id == [], by_id
    assert any("FROM user_sessions" in s and "regions" in s for s in statements)
