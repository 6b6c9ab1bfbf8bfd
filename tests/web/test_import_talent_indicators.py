"""Issue 17: the talent indicator import reads through lms.sheets like the other imports, and its rules name the
sheet's row, column and value; a refused file answers 422 with the problems beside the file field."""
import csv
import io

from markupsafe import escape
from sqlalchemy import select

from talent.models import Indicator
from talent.services import evaluation
from tests.conftest import login, post_form

LEAD = "文件未导入，请改正后重新上传（任何数据都未改变）："


def _csv(rows, encoding="gbk") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def _post(client, data: bytes, name: str):
    return post_form(client, "/talent/indicators", {"action": "import", "imp-file": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")


def test_import_indicator_rules_name_row_column_and_value(client, db, world):
    login(client, "js_admin")
    head = evaluation.INDICATOR_HEADERS
    bad = _csv([head, ["A1", "A", "质量意识", "", "0", ""], ["", "", "", "", "", ""],
                ["B9", "ZZ", "孤儿", "", "5", ""], ["G", "", "新一级", "10", "", ""]])
    resp = _post(client, bad, "指标.csv")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    expected = LEAD + ("第 2 行「满分」列（E 列）“0”：满分须大于 0 且不超过 100；"
                       "第 4 行「上级编码」列（B 列）“ZZ”：上级编码不存在；"
                       "第 5 行「上级编码」列（B 列）“空”：一级指标固定为六项，新增指标须填写上级编码")
    assert str(escape(expected)) in html and 'data-field="imp-file"' in html
    assert db.scalar(select(Indicator).where(Indicator.code == "A1")) is None
    good = _csv([head, ["A1", "A", "质量意识", "", "10", "自评"], ["", "", "", "", "", ""],
                 ["A11", "A1", "质量第一理念", "", "5", ""]], "utf-8-sig")
    assert _post(client, good, "指标.csv").status_code == 302
    assert db.scalar(select(Indicator).where(Indicator.code == "A11")).level == 3


def test_import_indicator_node_form_keeps_its_messages(client, db, world):
    login(client, "js_admin")
    resp = post_form(client, "/talent/indicators", {"action": "node", "node-code": "X1", "node-parent": "ZZ",
                                                    "node-name": "孤儿", "node-max_points": "5"})
    assert resp.status_code == 200 and "第 1 行：上级编码不存在" in resp.get_data(as_text=True)
